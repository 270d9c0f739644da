"""Counting the SQL statements a piece of code sends, for the tests that guard against N+1."""

from contextlib import contextmanager

from sqlalchemy import event

from peerlearn.extensions import db


@contextmanager
def counting_statements():
    """Yield a list that collects every statement sent through db.engine inside the block."""
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
