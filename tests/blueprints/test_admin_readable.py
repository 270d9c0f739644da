"""The admin pages read on a phone and in words: tables stack into cards (each cell labelled),
the audit log's details are sentences, and the admin tabs come in one order everywhere."""

import re
from html import unescape

from peerlearn.extensions import db
from peerlearn.services import audit as audit_log
from tests.factories import make_session


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return unescape(response.get_data(as_text=True))


def test_audit_details_read_as_sentences(client, auth, make_user):
    admin = make_user(role="admin", email="ada@example.com")
    audit_log.record(
        admin,
        audit_log.PAYMENT_REFUND,
        target_type="payment",
        target_id=3,
        details={
            "amount_paise": 10000,
            "reason": "Mentor no-show",
            "refund_id": 7,
            "purpose": "booking",
            "booking_id": 5,
            "payer_id": 9,
            "mentor_id": 4,
        },
    )
    audit_log.record(
        admin,
        audit_log.USER_SUSPEND,
        target_type="user",
        target_id=9,
        details={"reason": "Spam", "signed_out": 2},
    )
    db.session.commit()
    auth.login(admin.email)
    audit = page(client, "/admin/audit")
    assert "Refunded ₹100 (refund #7)." in audit and "Reason: Mentor no-show." in audit
    assert "For: booking." in audit and "Booking #5." in audit and "Mentor #4." in audit
    assert "Signed out of 2 devices." in audit and "Reason: Spam." in audit
    assert "amount paise" not in audit and "signed out: 2" not in audit


def test_admin_tables_stack_with_every_cell_labelled(client, auth, make_user):
    admin = make_user(role="admin", email="ada@example.com")
    mentor = make_user(role="mentor", name="Meera Iyer")
    make_session(mentor, title="Stacked on a phone")
    audit_log.record(admin, audit_log.MENTOR_VERIFY, target_type="user", target_id=mentor.id)
    db.session.commit()
    auth.login(admin.email)
    for path in ("/admin/users", "/admin/sessions", "/admin/audit", f"/admin/users/{mentor.id}"):
        html = page(client, path)
        assert 'class="table-stack' in html, path
        cells = re.findall(r"<td\b[^>]*>", html)
        assert cells and all("data-label=" in cell for cell in cells), path


def tabs(html):
    nav = re.search(r'<nav[^>]*aria-label="Admin sections"[^>]*>(.*?)</nav>', html, re.S).group(1)
    return re.findall(r'href="([^"]+)"', nav)


def test_admin_tabs_come_in_one_order_everywhere(client, auth, make_user):
    admin = make_user(role="admin", email="ada@example.com")
    auth.login(admin.email)
    overview = tabs(page(client, "/admin"))
    assert overview == [
        "/admin",
        "/admin/users",
        "/admin/sessions",
        "/admin/waitlists",
        "/admin/moves",
        "/admin/payments",
        "/admin/refunds",
        "/admin/disputes",
        "/admin/payouts",
        "/admin/coupons",
        "/admin/packs",
        "/admin/reviews",
        "/admin/audit",
        "/admin/jobs",
        "/admin/webhooks",
        "/admin/deleted-mentors",
    ]
    for path in overview[1:]:
        assert tabs(page(client, path)) == overview, path
