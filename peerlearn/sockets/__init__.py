"""Socket.IO handlers. Connections are authenticated once at connect; events re-check."""


def init_app(app):
    from . import presence  # noqa: F401  (registers handlers on import)
