"""A page of a list, cut in SQL: the query's rows for one page (LIMIT/OFFSET) and how many there
are in all (one COUNT over the same query), so no list is loaded whole to show a page of it.
The pages, the API and the admin lists all page through ``paginate``."""

from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self):
        return (self.total + self.per_page - 1) // self.per_page if self.per_page else 0

    @property
    def has_next(self):
        return self.page < self.pages

    @property
    def has_prev(self):
        return self.page > 1


def paginate(query, *, page, per_page):
    """Page ``page`` (from 1) of ``query``'s rows, ``per_page`` at a time. The query's order must
    be total (end it with an id) so that no row shows on two pages or on none."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, total=total or 0, page=page, per_page=per_page)
