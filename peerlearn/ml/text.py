"""Normalising free-text skill names so "  python ", "Python" and "PYTHON" are one skill."""

import re
import unicodedata

_SPACES = re.compile(r"[\s_]+")
_ALLOWED = re.compile(r"[^\w+#.\- ]", re.UNICODE)

MAX_SKILL_LENGTH = 60


def clean_skill_name(raw):
    """The display form of a user-typed skill: trimmed, single-spaced, no control characters."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = _ALLOWED.sub("", text)
    text = _SPACES.sub(" ", text).strip(" -.")
    if text and text == text.lower() and not any(ch in text for ch in "+#."):
        text = text[0].upper() + text[1:]
    return text[:MAX_SKILL_LENGTH]


def skill_slug(name):
    """The identity of a skill: case- and spacing-insensitive, keeping + and # (C++, C#)."""
    text = clean_skill_name(name).casefold()
    return text.replace(" ", "-")


def split_tags(value):
    """Accept a list of names or one comma-separated string; drop blanks and duplicates."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    seen, result = set(), []
    for item in items:
        if not isinstance(item, str):
            continue
        name = clean_skill_name(item)
        slug = skill_slug(name)
        if name and slug not in seen:
            seen.add(slug)
            result.append(name)
    return result
