"""Who is an active mentor (teaching and not suspended) is one rule, User.is_active_mentor: the
account in Python and the query in SQL agree, and every lookup of a mentor by id uses it."""

import pytest
from sqlalchemy import select

from peerlearn.exceptions import NotFound
from peerlearn.extensions import db
from peerlearn.models import User, utcnow
from peerlearn.services import people


@pytest.fixture
def accounts(make_user):
    suspended = make_user(role="mentor", name="Suspended Mentor")
    suspended.suspended_at = utcnow()
    db.session.commit()
    return {
        "mentor": make_user(role="mentor", name="Active Mentor"),
        "suspended": suspended,
        "learner": make_user(name="Only Learner"),
        "admin": make_user(role="admin", name="Only Admin"),
    }


def test_python_and_sql_agree(accounts):
    in_python = {name for name, user in accounts.items() if user.is_active_mentor}
    ids = set(db.session.scalars(select(User.id).where(User.is_active_mentor)))
    in_sql = {name for name, user in accounts.items() if user.id in ids}
    assert in_python == in_sql == {"mentor"}


def test_lookups_find_only_active_mentors(accounts):
    assert people.active_mentor(accounts["mentor"].id).id == accounts["mentor"].id
    assert people.find_active_mentor(accounts["mentor"].id).id == accounts["mentor"].id
    for name in ("suspended", "learner", "admin"):
        with pytest.raises(NotFound):
            people.active_mentor(accounts[name].id)
        assert people.find_active_mentor(accounts[name].id) is None


def test_the_profile_page_and_api_show_only_active_mentors(client, accounts):
    for name, user in accounts.items():
        expected = 200 if name == "mentor" else 404
        assert client.get(f"/mentors/{user.id}").status_code == expected, name
        assert client.get(f"/api/mentors/{user.id}/").status_code == expected, name
