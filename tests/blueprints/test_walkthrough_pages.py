"""What a new user's walkthrough tripped over: a mentor on their own session page, and the photo
picked in the profile form."""

import html
import io

from PIL import Image

from peerlearn.extensions import db
from peerlearn.services import booking as booking_service
from tests.conftest import extract_csrf
from tests.factories import make_session


def test_a_mentor_on_their_own_session_is_teaching_it_not_its_learner(client, auth, make_user):
    mentor = make_user(role="mentor", name="Asha Raman", email="asha@example.com")
    session = make_session(mentor, title="Practical Flask")
    auth.login("asha@example.com")
    page = html.unescape(client.get(f"/sessions/{session.id}").get_data(as_text=True))
    assert "Your mentor" not in page
    assert "You're teaching this session" in page
    for link in (
        f"/teach/sessions/{session.id}/edit",
        f"/teach/sessions/{session.id}/cancel",
        "/teach/sessions",
    ):
        assert f'href="{link}"' in page


def test_learners_still_see_the_mentor(client, auth, make_user):
    mentor = make_user(role="mentor", name="Asha Raman")
    session = make_session(mentor, title="Practical Flask")
    learner = make_user(email="ravi@example.com")
    auth.login("ravi@example.com")
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert ">Mentor</h2>" in page and "Asha Raman" in page and "teaching this session" not in page
    booking_service.book(session.id, learner)
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert ">Your mentor</h2>" in page


def png_bytes():
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def profile_post(client, page, **fields):
    data = {"csrf_token": extract_csrf(page), "name": "Asha Verified", "bio": "", "timezone": "Asia/Kolkata"}
    data.update(fields)
    return client.post("/profile/edit", data=data, content_type="multipart/form-data")


def test_the_photo_picked_in_the_profile_form_is_saved_by_save_profile(client, auth, make_user):
    user = make_user(email="asha@example.com")
    auth.login("asha@example.com")
    page = client.get("/profile/edit").get_data(as_text=True)
    # The photo's file field belongs to the form whose button is "Save profile".
    assert 'id="profile-form"' in page and 'enctype="multipart/form-data"' in page
    assert 'name="avatar"' in page and 'form="profile-form"' in page

    response = profile_post(client, page, avatar=(io.BytesIO(png_bytes()), "me.png"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/profile")
    db.session.refresh(user)
    assert user.avatar_filename and user.name == "Asha Verified"

    # Saving again without picking a photo keeps the one there is.
    kept = user.avatar_filename
    response = profile_post(client, page, name="Asha R", avatar=(io.BytesIO(b""), ""))
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.avatar_filename == kept and user.name == "Asha R"


def test_a_refused_photo_saves_nothing_and_says_why(client, auth, make_user):
    user = make_user(name="Asha Raman", email="asha@example.com")
    auth.login("asha@example.com")
    page = client.get("/profile/edit").get_data(as_text=True)
    response = profile_post(client, page, name="Changed", avatar=(io.BytesIO(b"not an image"), "me.png"))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "PNG, JPEG or WebP" in body and "Nothing was saved" in body
    assert 'value="Changed"' in body  # what was typed is still there
    db.session.refresh(user)
    assert user.avatar_filename is None and user.name == "Asha Raman"


def test_the_photo_rules_hold_on_save_profile(client, auth, make_user):
    user = make_user(name="Asha Raman", email="asha@example.com")
    auth.login("asha@example.com")
    page = client.get("/profile/edit").get_data(as_text=True)
    user.email_verified_at = None
    db.session.commit()
    response = profile_post(client, page, avatar=(io.BytesIO(png_bytes()), "me.png"))
    assert response.status_code == 403
    assert "Confirm your email address before uploading images" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.avatar_filename is None and user.name == "Asha Raman"
