"""What a limited person reads: how long to wait, in their language, counted the way it is said."""

import pytest

from peerlearn.services.ratelimit import wait_message

HINDI = {"Accept-Language": "hi-IN,hi;q=0.9"}


@pytest.mark.parametrize(
    ("retry_after", "said"),
    [
        (1, "Please wait 1 second and"),
        (45, "Please wait 45 seconds and"),
        (60, "Please wait 1 minute and"),
        (61, "Please wait 2 minutes and"),  # never less than the wait is
        (900, "Please wait 15 minutes and"),
    ],
)
def test_the_wait_is_said_in_seconds_under_a_minute_else_in_whole_minutes(app, retry_after, said):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert said in wait_message(retry_after)


def test_a_hindi_visitor_limited_at_sign_in_reads_the_wait_in_hindi(app, client, auth, make_user):
    app.config["LOGIN_LIMIT_PER_IP"] = "2 per 15 minutes"
    make_user(email="a@example.com")
    for _ in range(2):
        client.post("/api/login/", json={"email": "a@example.com", "password": "wrong-password-x"})

    api = client.post(
        "/api/login/", json={"email": "a@example.com", "password": "wrong-password-x"}, headers=HINDI
    )
    assert api.status_code == 429
    message = api.get_json()["error"]["message"]
    assert message.startswith("बहुत ज़्यादा कोशिशें हो गईं। कृपया ") and "मिनट रुककर" in message

    english = client.post(
        "/api/login/",
        json={"email": "a@example.com", "password": "wrong-password-x"},
        headers={"Accept-Language": "en"},
    )
    assert english.get_json()["error"]["message"].startswith("Too many attempts. Please wait ")

    form = {"email": "a@example.com", "password": "wrong-password-x", "csrf_token": auth.csrf()}
    page = client.post("/auth/login", data=form, headers=HINDI)
    assert page.status_code == 429
    assert "बहुत ज़्यादा कोशिशें हो गईं।" in page.get_data(as_text=True)
