"""Admin tables on a phone: below the sm breakpoint each row is a card of labelled lines, so no
column is clipped or hidden off to the right."""

import pytest

from tests.browser.support import PHONE_WIDTH, log_in, no_sideways_scroll, visit

pytestmark = pytest.mark.browser

# A function, not an expression: the pages' content security policy refuses eval().
TABLES_FIT = """() => [...document.querySelectorAll('table.table-stack')].map((table) => ({
  fits: table.scrollWidth <= table.parentElement.clientWidth + 1,
  label: getComputedStyle(table.querySelector('tbody td'), '::before').content,
}))"""


@pytest.mark.parametrize(
    "path", ["/admin/users", "/admin/sessions", "/admin/payments", "/admin/waitlists", "/admin/packs"]
)
def test_admin_tables_become_cards_on_a_phone(page, path):
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    log_in(page, "admin@peerlearn.local")
    visit(page, path)
    tables = page.evaluate(TABLES_FIT)
    assert tables, f"no stacking table on {path}"
    for table in tables:
        assert table["fits"], path
        assert table["label"] not in ("none", "normal", '""'), path  # each value carries its label
    no_sideways_scroll(page)
