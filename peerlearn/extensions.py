"""Extension objects, created unbound. This module imports nothing of the application."""

import flask_limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Limiter(flask_limiter.Limiter):
    """Flask-Limiter whose Redis storage gives up quickly: a rate limit is asked on every sign-in,
    and while Redis is unreachable the limits count in memory instead (services.ratelimit), so a
    dead or unroutable Redis must cost a fraction of a second, not the system's connect timeout.
    RATELIMIT_STORAGE_OPTIONS, when set, overrides these."""

    REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://")

    def init_app(self, app):
        if str(app.config.get("RATELIMIT_STORAGE_URI") or "").startswith(self.REDIS_SCHEMES):
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            app.config["RATELIMIT_STORAGE_OPTIONS"] = {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 1.0,
                # One immediate retry: a pooled connection that Redis closed on a restart reconnects.
                "retry": Retry(NoBackoff(), 1),
                **app.config.get("RATELIMIT_STORAGE_OPTIONS", {}),
            }
        super().init_app(app)

    def declares_limits(self):
        """Whether any route, blueprint, default or application limit was declared. PeerLearn
        declares none: its limits are counted by services.ratelimit on this limiter's storage."""
        manager = self.limit_manager
        return bool(
            manager._application_limits
            or manager._default_limits
            or manager._decorated_limits
            or manager._blueprint_limits
        )

    def _check_request_limit(self, callable_name=None, in_middleware=True):
        # Flask-Limiter's hook before every request resolves the endpoint's limits and their
        # exemptions; with none declared anywhere there is nothing to find.
        if not self.declares_limits():
            return
        super()._check_request_limit(callable_name, in_middleware)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
socketio = SocketIO()
mail = Mail()
limiter = Limiter(key_func=get_remote_address)
