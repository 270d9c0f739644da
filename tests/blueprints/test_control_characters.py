"""A one-line field (a name, a headline, a title, a topic, payout details, a skill) holds no
control character; a multi-line one (a bio, a message) holds line breaks and tabs but no other
(issue 13: a name with CR/LF went into email subjects, where the mail library refused it, so
every email carrying it failed for good). Refused with a form error on the pages and a 422 on
the API."""

import importlib
import pkgutil

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, PasswordField, StringField, TextAreaField

import peerlearn.blueprints
from peerlearn.extensions import db
from peerlearn.forms import BaseForm
from peerlearn.inputs import MULTI_LINE_MESSAGE, SINGLE_LINE_MESSAGE
from peerlearn.models import AuthKind, PayoutAccount, User
from peerlearn.services import auth as auth_service

HEADER_INJECTION = "Eve\r\nBcc: x@y"


def bearer(user):
    return {"Authorization": "Bearer " + auth_service.start_session(user, AuthKind.API).raw_token}


def fresh(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


# ------------------------------------------------------------------------------------- names


def test_registering_with_a_line_break_in_the_name_is_refused_on_the_page(client, auth):
    response = auth.register(name=HEADER_INJECTION, email="eve@example.com")
    assert response.status_code == 422
    assert str(SINGLE_LINE_MESSAGE) in response.get_data(as_text=True)
    assert db.session.query(User).filter_by(email="eve@example.com").first() is None


def test_registering_with_a_line_break_in_the_name_is_refused_on_the_api(client):
    response = client.post(
        "/api/register/",
        json={"email": "eve@example.com", "password": "correct-horse-battery", "name": HEADER_INJECTION},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["name"] == [SINGLE_LINE_MESSAGE]
    assert db.session.query(User).filter_by(email="eve@example.com").first() is None


def test_editing_the_profile_name_to_a_line_break_is_refused_on_the_page(client, auth, make_user):
    user = make_user(email="eve@example.com", name="Eve Adams")
    auth.login(user.email)
    token = auth.csrf("/profile/edit")
    response = client.post(
        "/profile/edit", data={"name": HEADER_INJECTION, "timezone": "Asia/Kolkata", "csrf_token": token}
    )
    assert response.status_code == 422
    assert str(SINGLE_LINE_MESSAGE) in response.get_data(as_text=True)
    assert fresh(user).name == "Eve Adams"


def test_editing_the_profile_name_to_a_line_break_is_refused_on_the_api(client, make_user):
    user = make_user(email="eve@example.com", name="Eve Adams")
    response = client.patch("/api/profile/", json={"name": HEADER_INJECTION}, headers=bearer(user))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"name": [SINGLE_LINE_MESSAGE]}
    assert fresh(user).name == "Eve Adams"


# ---------------------------------------------------------------------- other one-line fields


@pytest.mark.parametrize("bad", ["\n", "\r", "\t", "\x1b", "\x7f", "\x85"])
@pytest.mark.parametrize(
    ("method", "url", "role", "body", "field"),
    [
        ("PATCH", "/api/profile/", "mentor", {"headline": "Python {bad} mentor"}, "headline"),
        ("POST", "/api/profile/teaching/", "learner", {"headline": "Python {bad} mentor"}, "headline"),
        ("PATCH", "/api/profile/", "learner", {"skills": ["Python", "Go{bad}lang"]}, "skills"),
        ("PATCH", "/api/profile/", "learner", {"interests": "Go{bad}lang"}, "interests"),
        (
            "POST",
            "/api/sessions/create/",
            "mentor",
            {"title": "Flask {bad} in depth", "category": "Programming", "starts_at": "2030-01-01T10:00"},
            "title",
        ),
        ("POST", "/api/requests/", "learner", {"topic": "Flask {bad} blueprints"}, "topic"),
        (
            "PUT",
            "/api/payout-details/",
            "mentor",
            {
                "kind": "bank",
                "holder_name": "Asha{bad}Raman",
                "account_number": "123456789012",
                "account_number_confirm": "123456789012",
                "ifsc": "HDFC0001234",
            },
            "holder_name",
        ),
        ("PUT", "/api/payout-details/", "mentor", {"kind": "upi", "upi_id": "asha@okaxis{bad}"}, "upi_id"),
    ],
)
def test_one_line_fields_refuse_control_characters_on_the_api(
    client, make_user, method, url, role, body, field, bad
):
    user = make_user(email="user@example.com", role=role)
    mentor = make_user(email="asha@example.com", role="mentor")
    body = {
        key: (value.format(bad=bad) if isinstance(value, str) else [v.format(bad=bad) for v in value])
        for key, value in body.items()
    }
    if url == "/api/requests/":
        body["mentor_id"] = mentor.id
    response = client.open(url, method=method, json=body, headers=bearer(user))
    assert response.status_code == 422, response.get_json()
    assert SINGLE_LINE_MESSAGE in response.get_json()["error"]["fields"][field]
    db.session.expire_all()
    assert db.session.query(PayoutAccount).count() == 0
    assert fresh(user).headline == "" and fresh(user).skills == []


# -------------------------------------------------------------------------- multi-line fields


def test_a_bio_keeps_its_line_breaks_and_tabs_but_no_other_control_character(client, make_user, auth):
    user = make_user(email="eve@example.com", name="Eve Adams")
    bio = "Ten years of Python.\r\n\r\nAsk me:\tanything"
    response = client.patch("/api/profile/", json={"bio": bio}, headers=bearer(user))
    assert response.status_code == 200
    assert fresh(user).bio == bio

    response = client.patch("/api/profile/", json={"bio": "Bell\x07 and \x1b[31mred"}, headers=bearer(user))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"bio": [MULTI_LINE_MESSAGE]}

    auth.login(user.email)
    token = auth.csrf("/profile/edit")
    form = {"name": "Eve Adams", "timezone": "Asia/Kolkata", "csrf_token": token}
    response = client.post("/profile/edit", data={**form, "bio": "Bell\x07 and \x1b[31mred"})
    assert response.status_code == 422
    assert str(MULTI_LINE_MESSAGE) in response.get_data(as_text=True)
    response = client.post("/profile/edit", data={**form, "bio": "Line one\r\nLine two"})
    assert response.status_code == 302
    assert fresh(user).bio == "Line one\r\nLine two"


# ------------------------------------------------------------------------------- every form


def app_forms():
    """Every form class the app defines (the blueprints' modules imported first)."""
    for module in pkgutil.walk_packages(peerlearn.blueprints.__path__, "peerlearn.blueprints."):
        importlib.import_module(module.name)
    found, todo = set(), [FlaskForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("peerlearn.") and sub is not BaseForm:
                found.add(sub)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def test_every_form_refuses_control_characters_by_the_kind_of_its_fields(app):
    forms = app_forms()
    assert len(forms) > 15
    assert [cls.__qualname__ for cls in forms if not issubclass(cls, BaseForm)] == []

    checked = 0
    for cls in forms:
        with app.test_request_context(method="POST"):
            names = [field.name for field in cls(meta={"csrf": False})]
        for name in names:
            with app.test_request_context(method="POST"):
                form = cls(formdata=MultiDict({name: "one\r\ntwo"}), meta={"csrf": False})
                field = form[name]
                if not isinstance(field, StringField) or isinstance(field, PasswordField | HiddenField):
                    continue
                field.validate(form)
                if isinstance(field, TextAreaField):
                    assert SINGLE_LINE_MESSAGE not in field.errors and MULTI_LINE_MESSAGE not in field.errors
                    form = cls(formdata=MultiDict({name: "a\x1bb"}), meta={"csrf": False})
                    form[name].validate(form)
                    assert MULTI_LINE_MESSAGE in form[name].errors, f"{cls.__qualname__}.{name}"
                else:
                    assert SINGLE_LINE_MESSAGE in field.errors, f"{cls.__qualname__}.{name}"
                checked += 1
    assert checked > 20
