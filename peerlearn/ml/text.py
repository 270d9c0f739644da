"""Normalising free-text skill names so "  python ", "Python" and "PYTHON" are one skill."""

import re
import unicodedata

_SPACES = re.compile(r"[\s_]+")
_ALLOWED = re.compile(r"[^\w+#.\- ]", re.UNICODE)

MAX_SKILL_LENGTH = 60


def clean_skill_name(raw):
    """The display form of a user-typed skill: trimmed, single-spaced, no control characters.

    Length is not cut here: callers refuse names over MAX_SKILL_LENGTH with a clear error.
    """
    text = unicodedata.normalize("NFKC", raw or "")
    text = _ALLOWED.sub("", text)
    text = _SPACES.sub(" ", text).strip(" -.")
    if text and text == text.lower() and not any(ch in text for ch in "+#."):
        text = text[0].upper() + text[1:]
    return text


def skill_slug(name):
    """The identity of a skill: case- and spacing-insensitive, keeping + and # (C++, C#)."""
    text = clean_skill_name(name).casefold()
    return text.replace(" ", "-")


def split_tags(value):
    """Accept a list of names or one comma-separated string; drop blanks and duplicates.

    Raises TypeError for anything else (numbers, objects, lists holding non-strings).
    """
    if value is None:
        return []
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        items = value
    else:
        raise TypeError("expected a list of strings or a comma-separated string")
    seen, result = set(), []
    for item in items:
        name = clean_skill_name(item)
        slug = skill_slug(name)
        if name and slug not in seen:
            seen.add(slug)
            result.append(name)
    return result
