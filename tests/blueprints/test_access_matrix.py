"""Who may call what, for every capability mix: every route of the app (pages and API, read from
``app.url_map`` so none is forgotten) × anonymous, learner, learner who teaches, admin, admin who
teaches. Every account learns; teaching opens the mentor pages; only admins see the admin ones.

Each route is called with ids that match nothing: a caller the route is closed to gets the 401,
login redirect or 403 of its gate, one it is open to gets past the gate (the 404 of the missing
object, a form error, ...), never a 5xx. Routes without parameters answer 200.
"""

import re

import pytest

from peerlearn.models import AuthKind
from peerlearn.services import auth as auth_service
from tests.conftest import AuthActions, extract_csrf

PUBLIC, SIGNED_IN, MENTOR, ADMIN = "public", "signed in", "mentor", "admin"
MENTOR_OR_ADMIN = "mentor or admin"  # webhooks: an admin needs no teaching to have them

# The gate of every endpoint (all its methods).
GATES = {
    # pages anyone may see
    "main.index": PUBLIC,
    "main.health": PUBLIC,
    "main.ready": PUBLIC,
    "metrics": PUBLIC,  # to allowed addresses (the test client: loopback) or a token; test_metrics.py
    "main.generated_cover": PUBLIC,
    "pwa.manifest": PUBLIC,
    "pwa.service_worker": PUBLIC,
    "pwa.offline": PUBLIC,
    "main.set_language": PUBLIC,  # a visitor's choice sets the cookie; a signed-in one's is saved too
    "sessions.browse": PUBLIC,
    "sessions.detail": PUBLIC,
    "users.directory": PUBLIC,
    "users.mentor_profile": PUBLIC,
    "community.mentor_reviews": PUBLIC,
    "users.avatar": PUBLIC,
    "sessions.cover": PUBLIC,
    "booking.feed": PUBLIC,  # the private calendar feed: its secret token is the key
    "notifications.unsubscribe": PUBLIC,  # a signed link from an email
    "payments.razorpay_webhook": PUBLIC,  # signed by the gateway
    # pages for every signed-in account (every account learns)
    "dashboards.home": SIGNED_IN,
    "dashboards.learner": SIGNED_IN,
    "booking.my_bookings": SIGNED_IN,
    "booking.detail": SIGNED_IN,
    "booking.ics": SIGNED_IN,
    "booking.cancel": SIGNED_IN,
    "booking.reschedule": SIGNED_IN,
    "booking.move": SIGNED_IN,
    "booking.move_checkout": SIGNED_IN,
    "booking.report_problem": SIGNED_IN,
    "booking.book": SIGNED_IN,
    "booking.join_waitlist": SIGNED_IN,
    "booking.leave_waitlist": SIGNED_IN,
    "booking.regenerate_feed": SIGNED_IN,
    "payments.checkout": SIGNED_IN,
    "payments.apply_coupon": SIGNED_IN,
    "payments.dev_checkout": SIGNED_IN,
    "payments.dev_checkout_fail": SIGNED_IN,
    "payments.dev_checkout_pay": SIGNED_IN,
    "payments.dev_return": SIGNED_IN,
    "community.following": SIGNED_IN,
    "community.follow": SIGNED_IN,
    "community.unfollow": SIGNED_IN,
    "community.new_request": SIGNED_IN,
    "community.my_requests": SIGNED_IN,
    "community.request_detail": SIGNED_IN,
    "community.confirm": SIGNED_IN,
    "community.withdraw": SIGNED_IN,
    "community.reply": SIGNED_IN,  # the review's mentor only: decided by the review (404 otherwise)
    "community.write_review": SIGNED_IN,
    "notifications.center": SIGNED_IN,
    "notifications.preferences": SIGNED_IN,
    "notifications.mark_read": SIGNED_IN,
    "users.profile": SIGNED_IN,
    "users.edit_profile": SIGNED_IN,
    "users.upload_avatar": SIGNED_IN,
    "users.remove_avatar": SIGNED_IN,
    "users.end_session": SIGNED_IN,
    "users.become_mentor": SIGNED_IN,
    "users.your_data_page": SIGNED_IN,
    "users.request_export": SIGNED_IN,
    "users.download_export": SIGNED_IN,
    "users.delete_account": SIGNED_IN,
    "sessions.room": SIGNED_IN,  # a booked seat or the session's mentor: decided by the session
    "sessions.start": SIGNED_IN,  # the session's mentor: decided by the session
    "sessions.end": SIGNED_IN,
    # A session's recording: its mentor, learners who held a seat, admins (recording_library);
    # 404 to everyone else. Its file answers 404 signed out too (a video element cannot log in).
    "sessions.recording": SIGNED_IN,
    "sessions.recording_file": PUBLIC,
    "sessions.delete_recording": SIGNED_IN,
    "sessions.retry_recording": SIGNED_IN,
    # The room's notes and whiteboard: its mentor, learners with a seat, admins (room_documents).
    "sessions.notes_markdown": SIGNED_IN,
    "sessions.whiteboard_png": SIGNED_IN,
    # The learning record: the booking's learner, the session's mentor, admins (learning_record).
    "dashboards.history": SIGNED_IN,
    "dashboards.session_record": SIGNED_IN,
    # pages for accounts that teach
    "dashboards.mentor": MENTOR,
    "sessions.mine": MENTOR,
    "sessions.create": MENTOR,
    "sessions.edit": MENTOR,
    "sessions.publish": MENTOR,
    "sessions.cancel": MENTOR,
    "booking.earnings": MENTOR,
    "booking.coupons": MENTOR,
    "booking.create_coupon": MENTOR,
    "booking.deactivate_coupon": MENTOR,
    "booking.packs": MENTOR,
    "booking.create_pack": MENTOR,
    "booking.deactivate_pack": MENTOR,
    "booking.buy_pack": SIGNED_IN,
    "booking.pack_checkout": SIGNED_IN,
    "booking.my_packs": SIGNED_IN,
    "booking.book_with_credit": SIGNED_IN,
    "booking.request_payout": MENTOR,
    "booking.statement": MENTOR,
    "booking.payout_details": MENTOR,
    # webhooks under the account's settings: accounts that teach, and admins
    "webhooks.index": MENTOR_OR_ADMIN,
    "webhooks.create": MENTOR_OR_ADMIN,
    "webhooks.show": MENTOR_OR_ADMIN,
    "webhooks.edit": MENTOR_OR_ADMIN,
    "webhooks.reveal_secret": MENTOR_OR_ADMIN,
    "webhooks.roll_secret": MENTOR_OR_ADMIN,
    "webhooks.ping": MENTOR_OR_ADMIN,
    "webhooks.enable": MENTOR_OR_ADMIN,
    "webhooks.disable": MENTOR_OR_ADMIN,
    "webhooks.delete": MENTOR_OR_ADMIN,
    "webhooks.redeliver": MENTOR_OR_ADMIN,
    "community.requests_inbox": MENTOR,
    "community.accept": MENTOR,
    "community.decline": MENTOR,
    # admin pages
    "dashboards.admin": ADMIN,
    "admin.users": ADMIN,
    "admin.user": ADMIN,
    "admin.suspend_user": ADMIN,
    "admin.unsuspend_user": ADMIN,
    "admin.verify_mentor": ADMIN,
    "admin.unverify_mentor": ADMIN,
    "admin.lift_publishing_suspension": ADMIN,
    "admin.sessions": ADMIN,
    "admin.session": ADMIN,
    "admin.cancel_session": ADMIN,
    "admin.recording": ADMIN,
    "admin.cut_out_of_recording": ADMIN,
    "admin.payments": ADMIN,
    "admin.payment": ADMIN,
    "admin.refund_payment": ADMIN,
    "admin.refunds": ADMIN,
    "admin.reviews": ADMIN,
    "admin.hide_review": ADMIN,
    "admin.audit": ADMIN,
    "admin.disputes": ADMIN,
    "admin.decide_dispute": ADMIN,
    "admin.payouts": ADMIN,
    "admin.coupons": ADMIN,
    "admin.create_coupon": ADMIN,
    "admin.deactivate_coupon": ADMIN,
    "admin.mark_payout_paid": ADMIN,
    "admin.reject_payout": ADMIN,
    "admin.jobs": ADMIN,
    "admin.requeue_job": ADMIN,
    "admin.requeue_all_jobs": ADMIN,
    "admin.deletion_reviews": ADMIN,
    "admin.decide_deletion_review": ADMIN,
    "admin.delete_user": ADMIN,
    "admin.waitlists": ADMIN,
    "admin.waitlist": ADMIN,
    "admin.remove_from_waitlist": ADMIN,
    "admin.packs": ADMIN,
    "admin.pack_purchases": ADMIN,
    "admin.refund_pack_purchase": ADMIN,
    "admin.moves": ADMIN,
    "admin.webhooks": ADMIN,
    "admin.webhook_deliveries": ADMIN,
    "admin.redeliver_webhook": ADMIN,
    "admin.enable_webhook": ADMIN,
    # the API, open to anyone
    "api.index": PUBLIC,
    "api.push_public_key": PUBLIC,
    "api.openapi": PUBLIC,
    "api.register": PUBLIC,
    "api.login": PUBLIC,
    "api.verify_email": PUBLIC,
    "api.request_password_reset": PUBLIC,
    "api.confirm_password_reset": PUBLIC,
    "api.list_sessions": PUBLIC,
    "api.session_detail": PUBLIC,
    "api.session_reviews": PUBLIC,
    "api.mentor": PUBLIC,
    "api.list_mentors": PUBLIC,
    "api.mentor_reviews": PUBLIC,
    "api.trending": PUBLIC,
    "api.skill_autocomplete": PUBLIC,
    "api.skill_suggestions": PUBLIC,
    # the API for every signed-in account
    "api.logout": SIGNED_IN,
    "api.logout_all": SIGNED_IN,
    "api.request_export": SIGNED_IN,
    "api.list_exports": SIGNED_IN,
    "api.export_status": SIGNED_IN,
    "api.download_export": SIGNED_IN,
    "api.delete_account": SIGNED_IN,
    "api.change_password": SIGNED_IN,
    "api.get_profile": SIGNED_IN,
    "api.get_language": SIGNED_IN,
    "api.put_language": SIGNED_IN,
    "api.update_profile": SIGNED_IN,
    "api.upload_avatar": SIGNED_IN,
    "api.delete_avatar": SIGNED_IN,
    "api.enable_teaching": SIGNED_IN,
    "api.resend_verification": SIGNED_IN,
    "api.learner_dashboard": SIGNED_IN,
    "api.my_bookings": SIGNED_IN,
    "api.booking_detail": SIGNED_IN,
    "api.booking_record": SIGNED_IN,
    "api.cancel_booking": SIGNED_IN,
    "api.reschedule_booking": SIGNED_IN,
    "api.report_problem": SIGNED_IN,
    "api.book": SIGNED_IN,
    "api.waitlist_status": SIGNED_IN,
    "api.mentor_packs": PUBLIC,
    "api.create_pack_payment": SIGNED_IN,
    "api.my_packs": SIGNED_IN,
    "api.book_with_credit": SIGNED_IN,
    "api.join_waitlist": SIGNED_IN,
    "api.leave_waitlist": SIGNED_IN,
    "api.create_payment": SIGNED_IN,
    "api.coupon_preview": SIGNED_IN,
    "api.apply_coupon": SIGNED_IN,
    "api.my_coupons": SIGNED_IN,  # ?platform=true: admins only (403)
    "api.deactivate_coupon": SIGNED_IN,  # the caller's own coupon: decided by the coupon (404)
    "api.create_coupon": MENTOR,  # with "platform": true, admins
    "api.verify_payment": SIGNED_IN,
    "api.payment_history": SIGNED_IN,
    "api.create_gift": SIGNED_IN,
    "api.verify_gift": SIGNED_IN,
    "api.ice_servers": SIGNED_IN,
    "api.session_recording": SIGNED_IN,
    "api.create_review": SIGNED_IN,
    "api.reply_to_review": SIGNED_IN,
    "api.following": SIGNED_IN,
    "api.follow_mentor": SIGNED_IN,
    "api.unfollow_mentor": SIGNED_IN,
    "api.list_recommendations": SIGNED_IN,
    "api.recommended_mentors": SIGNED_IN,
    "api.list_notifications": SIGNED_IN,
    "api.save_push_subscription": SIGNED_IN,
    "api.delete_push_subscription": SIGNED_IN,
    "api.mark_notifications_read": SIGNED_IN,
    "api.notification_preferences": SIGNED_IN,
    "api.update_notification_preferences": SIGNED_IN,
    "api.list_requests": SIGNED_IN,
    "api.create_request": SIGNED_IN,
    "api.request_detail": SIGNED_IN,
    "api.accept_request": SIGNED_IN,  # the request's mentor: decided by the request
    "api.decline_request": SIGNED_IN,
    "api.confirm_request": SIGNED_IN,
    "api.withdraw_request": SIGNED_IN,
    # the webhooks API: accounts that teach, and admins
    "api.list_webhooks": MENTOR_OR_ADMIN,
    "api.create_webhook": MENTOR_OR_ADMIN,
    "api.webhook_detail": MENTOR_OR_ADMIN,
    "api.update_webhook": MENTOR_OR_ADMIN,
    "api.delete_webhook": MENTOR_OR_ADMIN,
    "api.webhook_secret": MENTOR_OR_ADMIN,
    "api.roll_webhook_secret": MENTOR_OR_ADMIN,
    "api.ping_webhook": MENTOR_OR_ADMIN,
    "api.webhook_deliveries": MENTOR_OR_ADMIN,
    "api.redeliver_webhook": MENTOR_OR_ADMIN,
    # the API for accounts that teach
    "api.mentor_dashboard": MENTOR,
    "api.create_session": MENTOR,
    "api.update_session": MENTOR,
    "api.publish_session": MENTOR,
    "api.cancel_session": MENTOR,
    "api.start_session": MENTOR,
    "api.end_session": MENTOR,
    "api.earnings": MENTOR,
    "api.request_payout": MENTOR,
    "api.payout_details": MENTOR,
    "api.save_payout_details": MENTOR,
    # the admin API
    "api.admin_dashboard": ADMIN,
    "api.admin_users": ADMIN,
    "api.admin_suspend_user": ADMIN,
    "api.admin_unsuspend_user": ADMIN,
    "api.admin_verify_mentor": ADMIN,
    "api.admin_unverify_mentor": ADMIN,
    "api.admin_user_strikes": ADMIN,
    "api.admin_lift_publishing_suspension": ADMIN,
    "api.admin_payments": ADMIN,
    "api.admin_refund_payment": ADMIN,
    "api.admin_disputes": ADMIN,
    "api.admin_decide_dispute": ADMIN,
    "api.admin_audit": ADMIN,
}

# Not in the matrix: files, signing in and out (tests/blueprints/test_auth_pages.py), the
# development outbox (absent in production).
NOT_GATED = re.compile(r"^(static|auth\.|dev\.)")

PERSONAS = {
    "anonymous": None,
    "learner": {"role": "learner"},
    "learner+mentor": {"role": "mentor"},
    "admin": {"role": "admin"},
    "admin+mentor": {"role": "admin", "mentor": True},
}
# Plain GETs that answer something else than 200 to a caller past the gate, and why.
NOT_200 = {
    "payments.dev_return": 404,  # it needs the order the dev checkout returns from
    "main.generated_cover": 404,  # it needs a category and a title to draw
}
HOMES = {"learner": "/learn", "learner+mentor": "/teach", "admin": "/admin", "admin+mentor": "/admin"}
DENIED_CODES = {MENTOR: "not_a_mentor", ADMIN: "not_an_admin", MENTOR_OR_ADMIN: "not_a_mentor"}


def routes(app):
    """(endpoint, method, url) for every gated route, ids that match nothing filled in; the
    sign-outs last (they end the caller's sessions)."""
    found = []
    for rule in app.url_map.iter_rules():
        if NOT_GATED.match(rule.endpoint):
            continue
        url = re.sub(r"<int:\w+>", "999999", rule.rule)
        url = re.sub(r"<(?:\w+:)?\w+>", "nothing-here", url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url, "<" not in rule.rule))
    return sorted(found, key=lambda route: (route[0] in ("api.logout", "api.logout_all"), route[2], route[1]))


def test_every_route_has_a_gate(app):
    endpoints = {endpoint for endpoint, *_ in routes(app)}
    assert endpoints - set(GATES) == set(), "routes without an expected gate: add them to GATES"
    assert set(GATES) - endpoints == set(), "GATES names routes the app no longer serves"


def holds(persona, gate):
    if gate == PUBLIC:
        return True
    if persona == "anonymous":
        return False
    spec = PERSONAS[persona]
    return {
        SIGNED_IN: True,
        MENTOR: spec["role"] == "mentor" or spec.get("mentor", False),
        ADMIN: spec["role"] == "admin",
        MENTOR_OR_ADMIN: spec["role"] in ("mentor", "admin") or spec.get("mentor", False),
    }[gate]


def outcome(response):
    if response.status_code in (302, 303) and "/auth/login" in response.headers.get("Location", ""):
        return "login"
    if response.status_code in (401, 403):
        return response.status_code
    return "past the gate" if response.status_code < 500 else f"error {response.status_code}"


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_the_access_matrix_holds_for_every_capability_mix(app, make_user, persona):
    user = None
    if PERSONAS[persona] is not None:
        user = make_user(email=f"{persona.replace('+', '-')}@example.com", **PERSONAS[persona])
    browser = app.test_client()
    if user is not None:
        assert AuthActions(browser).login(user.email).status_code == 302
    csrf_token = extract_csrf(browser.get("/profile" if user else "/auth/login").get_data(as_text=True))

    wrong = []
    for endpoint, method, url, plain in routes(app):
        gate, api = GATES[endpoint], url.startswith("/api/")
        if api:
            headers = {}
            if user is not None:  # a fresh token each time: a sign-out ends only its own
                headers["Authorization"] = (
                    "Bearer " + auth_service.start_session(user, AuthKind.API).raw_token
                )
            response = app.test_client().open(url, method=method, headers=headers)
        else:
            response = browser.open(
                url, method=method, data=None if method == "GET" else {"csrf_token": csrf_token}
            )
        response.close()  # file responses (the API document) hold their file open until closed
        got = outcome(response)
        if holds(persona, gate):
            expected = "past the gate"
            if got == expected and method == "GET" and plain:
                if endpoint == "dashboards.home":
                    got = (
                        response.headers["Location"] if response.status_code == 302 else response.status_code
                    )
                    expected = HOMES[persona]
                elif response.status_code != NOT_200.get(endpoint, 200):
                    got = response.status_code
                    expected = NOT_200.get(endpoint, 200)
        elif persona == "anonymous":
            expected = 401 if api else "login"
            if api and got == 401:
                code = response.get_json()["error"]["code"]
                got = 401 if code == "authentication_required" else f"401 {code}"
        else:
            expected = 403
            if api and got == 403 and response.get_json()["error"]["code"] != DENIED_CODES[gate]:
                got = f"403 {response.get_json()['error']['code']}"
        if got != expected:
            wrong.append(f"{method} {url} ({endpoint}, {gate}): expected {expected}, got {got}")
    assert wrong == [], f"{persona}:\n" + "\n".join(wrong)
