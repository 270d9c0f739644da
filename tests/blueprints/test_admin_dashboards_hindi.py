"""The admin pages and the dashboards in Hindi (issue 20): an admin or a mentor who reads Hindi
gets the tabs, headings, counts, states and flashes in Hindi, and English readers get the same
English as before."""

from peerlearn.extensions import db
from peerlearn.models import Payout
from tests.conftest import AuthActions, extract_csrf
from tests.factories import make_session, paid_booking


def signed_in(app, email, language):
    """A browser signed in as ``email``, reading ``language`` (signing in saves it on the account,
    so each reader here is a different person)."""
    browser = app.test_client()
    browser.set_cookie("lang", language)
    assert AuthActions(browser).login(email).status_code == 302
    return browser


def test_the_admin_lists_read_in_hindi_with_counts_and_states(app, make_user):
    make_user(role="admin", name="Ada Admin", email="admin@example.com")
    make_user(role="admin", name="Otto Admin", email="otto@example.com")
    mentor = make_user(role="mentor", name="Meera Mentor", email="mentor@example.com")
    learner = make_user(role="learner", name="Lena Learner", email="learner@example.com")
    paid_booking(make_session(mentor, title="Practical Flask", price_paise=40000), learner)

    hindi = signed_in(app, "admin@example.com", "hi")
    users = hindi.get("/admin/users").get_data(as_text=True)
    assert 'aria-label="एडमिन सेक्शन"' in users and ">विफल जॉब<" in users
    assert ">4 यूज़र<" in users and ">निलंबित<" in users and ">Users<" not in users

    payments = hindi.get("/admin/payments").get_data(as_text=True)
    assert (
        ">1 पेमेंट<" in payments and 'data-label="भुगतान करने वाला"' in payments and ">Captured<" not in payments
    )

    english = signed_in(app, "otto@example.com", "en")
    users = english.get("/admin/users").get_data(as_text=True)
    assert ">4 users<" in users and ">Failed jobs<" in users and "यूज़र" not in users
    payments = english.get("/admin/payments").get_data(as_text=True)
    assert ">1 payment<" in payments and ">Captured<" in payments


def test_an_admins_flash_is_in_the_language_they_read(app, make_user):
    make_user(role="admin", name="Ada Admin", email="admin@example.com")
    mentor = make_user(role="mentor", name="Meera Mentor", email="mentor@example.com")
    payout = Payout(mentor_id=mentor.id, amount_paise=10000)
    db.session.add(payout)
    db.session.commit()
    hindi = signed_in(app, "admin@example.com", "hi")
    token = extract_csrf(hindi.get("/admin/payouts").get_data(as_text=True))
    answer = hindi.post(
        f"/admin/payouts/{payout.id}/reject", data={"csrf_token": token, "note": "Bank details missing"}
    )
    assert answer.status_code == 303
    page = hindi.get("/admin/payouts").get_data(as_text=True)
    assert f"पेआउट #{payout.id} अस्वीकार किया गया; रकम मेंटर के लिए फिर से उपलब्ध है।" in page


def test_the_mentor_and_learner_homes_read_in_hindi(app, make_user):
    make_user(role="mentor", name="Meera Mentor", email="mentor@example.com")
    make_user(role="mentor", name="Mohan Mentor", email="mohan@example.com")
    hindi = signed_in(app, "mentor@example.com", "hi")
    home = hindi.get("/teach").get_data(as_text=True)
    assert "स्वागत है, Meera" in home and "अपनी स्किल जोड़ें" in home
    assert "अभी कोई रिव्यू नहीं" in home and "Welcome," not in home
    learning = hindi.get("/learn").get_data(as_text=True)
    assert "नमस्ते Meera" in learning and "आपके आने वाले सेशन" in learning

    english = signed_in(app, "mohan@example.com", "en")
    assert "Welcome, Mohan" in english.get("/teach").get_data(as_text=True)
