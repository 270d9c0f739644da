"""Session packs on the pages: the mentor puts a pack on sale under Teach, a learner buys it from
the mentor's profile through the dev checkout, sees its credits on "Your session packs", and books
a session with a credit."""

import re

from peerlearn.extensions import db
from peerlearn.payments import get_gateway
from tests.conftest import AuthActions, extract_csrf
from tests.factories import UserFactory, make_session


def signed_in(app, email):
    browser = app.test_client()
    assert AuthActions(browser).login(email).status_code == 302
    return browser


def test_a_pack_is_made_bought_and_used_from_the_pages(app):
    mentor = UserFactory(role="mentor", email="mentor@example.com", name="Meera Mentor")
    UserFactory(email="ana@example.com")
    session = make_session(mentor, title="One to one", capacity=1, price_paise=50_000)

    teacher = signed_in(app, "mentor@example.com")
    page = teacher.get("/teach/packs").get_data(as_text=True)
    form = {
        "csrf_token": extract_csrf(page),
        "title": "Five one-to-ones",
        "credits": "5",
        "price": "2000",
        "valid_days": "60",
        "max_session_price": "500",
        "one_to_one_only": "y",
    }
    refused = teacher.post("/teach/packs", data=form | {"price": "4"})  # under ₹1 a session
    assert refused.status_code == 422 and "at least ₹1" in refused.get_data(as_text=True)
    assert teacher.post("/teach/packs", data=form).status_code == 302

    learner = signed_in(app, "ana@example.com")
    profile = learner.get(f"/mentors/{mentor.id}").get_data(as_text=True)
    assert "5 sessions for ₹2,000 (save 20 %), valid 60 days" in profile
    buy_url = re.search(r'action="(/packs/\d+/buy)"', profile).group(1)
    response = learner.post(buy_url, data={"csrf_token": extract_csrf(profile)})
    assert response.status_code == 302 and "/packs/orders/" in response.location
    pay_page = learner.get(response.location).get_data(as_text=True)
    assert "Pay ₹2,000" in pay_page
    order_id = response.location.rsplit("/", 1)[1]
    remote, signature = get_gateway().pay(order_id)
    db.session.commit()  # the dev gateway's record, for the request's own connection
    back = learner.get(
        f"/payments/dev-return?order_id={order_id}&payment_id={remote.id}&signature={signature}"
    )
    assert back.status_code == 302

    mine = learner.get("/my-packs").get_data(as_text=True)
    assert "Five one-to-ones" in mine and "5 of 5" in mine

    detail = learner.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "Book with a credit (5 left)" in detail
    booked = learner.post(
        f"/sessions/{session.id}/book-with-credit", data={"csrf_token": extract_csrf(detail)}
    )
    assert booked.status_code == 302 and "/bookings/" in booked.location
    assert "4 of 5" in learner.get("/my-packs").get_data(as_text=True)
    assert "4 of 5 credits left" in learner.get("/learn").get_data(as_text=True)
    sales = teacher.get("/teach/packs").get_data(as_text=True)
    assert re.search(r"data-sales>1<", sales)
