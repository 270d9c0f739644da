"""One serializer per resource, naming the fields each audience may see."""

from ...links import external_url


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
            "teaching_enabled_at": user.teaching_enabled_at.isoformat() if user.teaching_enabled_at else None,
        }
    )
    return data
