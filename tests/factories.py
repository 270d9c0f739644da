import factory
from factory.alchemy import SQLAlchemyModelFactory

from peerlearn.extensions import db
from peerlearn.models import User, utcnow
from peerlearn.services.passwords import hash_password

DEFAULT_PASSWORD = "correct-horse-battery"


class UserFactory(SQLAlchemyModelFactory):
    class Meta:
        model = User
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    class Params:
        unverified = factory.Trait(email_verified_at=None)

    name = factory.Sequence(lambda n: f"User Number{n}")
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    role = "learner"
    timezone = "Asia/Kolkata"
    email_verified_at = factory.LazyFunction(utcnow)
    password_hash = factory.LazyFunction(lambda: hash_password(DEFAULT_PASSWORD))
