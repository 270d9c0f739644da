"""A person as each audience sees them: anyone (a public profile), themselves (their own
profile), the mentor directory's card and the admins' view."""

from ..links import external_url


def _time(value):
    return value.isoformat() if value else None


def avatar_url(user):
    if not user.avatar_filename:
        return None
    return external_url("users.avatar", filename=user.avatar_filename)


def public_user(user):
    data = {
        "id": user.id,
        "name": user.name,
        "role": user.role.value,
        "capabilities": user.capabilities,
        "bio": user.bio,
        "skills": [s.name for s in user.skills],
        "avatar_url": avatar_url(user),
        "joined_at": user.created_at.isoformat(),
    }
    if user.is_mentor:
        data["headline"] = user.headline
        data["hourly_rate_paise"] = user.hourly_rate_paise
        data["currency"] = "INR"
        data["profile_url"] = external_url("users.mentor_profile", user_id=user.id)
    return data


def own_profile(user):
    data = public_user(user)
    data.update(
        {
            "email": user.email,
            "email_verified": user.is_verified,
            "interests": [s.name for s in user.interests],
            "timezone": user.timezone,
            "headline": user.headline,
            "hourly_rate_paise": user.hourly_rate_paise,
            "currency": "INR",
            "teaching_enabled_at": _time(user.teaching_enabled_at),
        }
    )
    return data


def mentor_card_json(card):
    """A directory result as anyone may see it (``card`` from services.mentors.search_mentors)."""
    mentor, upcoming = card.mentor, card.next_session
    return {
        "id": mentor.id,
        "name": mentor.name,
        "headline": mentor.headline,
        "avatar_url": avatar_url(mentor),
        "skills": [skill.name for skill in mentor.skills],
        "hourly_rate_paise": mentor.hourly_rate_paise,
        "currency": "INR",
        "verified": mentor.mentor_verified_at is not None,
        "average_rating": card.rating.average,
        "review_count": card.rating.count,
        "next_session": {
            "id": upcoming.id,
            "title": upcoming.title,
            "starts_at": upcoming.starts_at.isoformat(),
            "price_paise": upcoming.price_paise,
            "url": external_url("sessions.detail", session_id=upcoming.id),
        }
        if upcoming
        else None,
        "profile_url": external_url("users.mentor_profile", user_id=mentor.id),
    }


def admin_user_json(user):
    """A user as admins see them."""
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role.value,
        "capabilities": user.capabilities,
        "teaching_enabled_at": _time(user.teaching_enabled_at),
        "email_verified": user.is_verified,
        "joined_at": _time(user.created_at),
        "last_login_at": _time(user.last_login_at),
        "mentor_verified": user.mentor_verified_at is not None,
        "mentor_verified_at": _time(user.mentor_verified_at),
        "suspended": user.suspended_at is not None,
        "suspended_at": _time(user.suspended_at),
        "suspension_reason": user.suspension_reason,
        "publishing_suspended": user.publishing_suspended_at is not None,
        "publishing_suspended_at": _time(user.publishing_suspended_at),
    }


def strike_json(strike):
    """A session its mentor did not hold (services.settlement), as admins see it."""
    return {
        "id": strike.id,
        "created_at": _time(strike.created_at),
        "reason": strike.reason,
        "session": {
            "id": strike.session_id,
            "title": strike.session.title,
            "starts_at": _time(strike.session.starts_at),
        },
    }


def token_json(auth_session, user):
    """A new bearer token (shown once, when it is made) and the profile of the person it signs in."""
    return {
        "token": auth_session.raw_token,
        "token_type": "Bearer",
        "expires_at": auth_session.expires_at.isoformat(),
        "user": own_profile(user),
    }
