"""Session packs over the API: a mentor's packs listed, one bought through the dev gateway and
verified, the learner's packs with credits left, a seat booked with a credit."""

from peerlearn.extensions import db
from peerlearn.payments import get_gateway
from peerlearn.services import packs
from tests.factories import make_session

PACK = {"title": "Three one-to-ones", "credits": 3, "price_paise": 120_000, "valid_days": 60}


def test_buy_a_pack_and_book_with_a_credit(app, client, make_user, api_token):
    mentor = make_user(role="mentor", email="mentor@example.com")
    make_user(email="learner@example.com")
    pack = packs.create_pack(mentor, PACK)
    session_id = make_session(mentor, capacity=1, price_paise=50_000).id
    listed = client.get(f"/api/mentors/{mentor.id}/packs/").get_json()["data"]
    assert [(p["id"], p["credits"], p["price_paise"]) for p in listed] == [(pack.id, 3, 120_000)]

    headers = {"Authorization": f"Bearer {api_token('learner@example.com')}"}
    order = client.post(f"/api/packs/{pack.id}/create-payment/", json={"amount": 1}, headers=headers)
    assert order.status_code == 200
    payment = order.get_json()["data"]["payment"]
    assert payment["purpose"] == "pack" and payment["amount_paise"] == 120_000  # not what was sent
    remote, signature = get_gateway().pay(payment["order_id"])
    db.session.commit()  # the dev gateway's record, for the request's own connection
    verified = client.post(
        "/api/verify-payment/",
        json={
            "razorpay_order_id": payment["order_id"],
            "razorpay_payment_id": remote.id,
            "razorpay_signature": signature,
        },
        headers=headers,
    )
    assert verified.get_json()["data"]["status"] == "captured"

    mine = client.get("/api/my-packs/", headers=headers).get_json()["data"]
    assert [(p["status"], p["credits_left"]) for p in mine] == [("active", 3)]
    booked = client.post(f"/api/sessions/{session_id}/book-with-credit/", json={}, headers=headers)
    assert booked.status_code == 201
    assert (
        booked.get_json()["data"]["status"] == "confirmed" and booked.get_json()["data"]["amount_paise"] == 0
    )
    again = client.post(f"/api/sessions/{session_id}/book-with-credit/", headers=headers)
    assert again.status_code == 200
    assert client.get("/api/my-packs/", headers=headers).get_json()["data"][0]["credits_left"] == 2

    full = make_session(mentor, capacity=1, price_paise=50_000, seats_taken=1)
    refused = client.post(f"/api/sessions/{full.id}/book-with-credit/", json={}, headers=headers)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "session_full"
    assert client.get("/api/my-packs/", headers=headers).get_json()["data"][0]["credits_left"] == 2
