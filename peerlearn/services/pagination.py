"""A page of a list, cut in SQL: the query's rows for one page (LIMIT/OFFSET) and how many there
are in all (one COUNT over the same query), so no list is loaded whole to show a page of it.
The pages, the API and the admin lists all page through ``paginate``."""

from sqlalchemy import func, select

from ..extensions import db


class Page(tuple):
    """One page of a list. It reads as the pair ``(items, total)`` the list services have always
    returned, and names its parts: items, total, page, per_page, pages, has_prev, has_next."""

    def __new__(cls, items, total, page, per_page):
        pair = super().__new__(cls, (items, total))
        pair.page, pair.per_page = page, per_page
        return pair

    @property
    def items(self):
        return self[0]

    @property
    def total(self):
        return self[1]

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
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page))
    return Page(list(rows.unique()), total or 0, page, per_page)
