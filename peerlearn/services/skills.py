"""Skills and interests: resolving typed names to shared Skill rows, and autocomplete."""

from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import IntegrityError

from ..exceptions import ValidationError
from ..extensions import db
from ..ml.text import MAX_SKILL_LENGTH, clean_skill_name, skill_slug, split_tags
from ..models import Skill, user_interests, user_skills

MAX_TAGS = 20


def resolve(names, *, field="skills"):
    """Skill rows for the given names, creating new ones (the vocabulary grows with use).

    Runs inside the caller's transaction; a concurrent insert of the same new skill is
    absorbed with a savepoint instead of failing the caller.
    """
    try:
        names = split_tags(names)
    except TypeError as exc:
        raise ValidationError(
            f"Send {field} as a list of names.", fields={field: ["Must be a list of names."]}
        ) from exc
    if len(names) > MAX_TAGS:
        raise ValidationError(
            f"Add at most {MAX_TAGS} {field}.", fields={field: [f"At most {MAX_TAGS} items."]}
        )
    for name in names:
        if len(name) > MAX_SKILL_LENGTH:
            message = f"Keep each name under {MAX_SKILL_LENGTH} characters."
            raise ValidationError(message, fields={field: [message]})
    slugs = [skill_slug(n) for n in names]
    existing = {s.slug: s for s in db.session.scalars(select(Skill).where(Skill.slug.in_(slugs)))}
    result = []
    for name, slug in zip(names, slugs, strict=True):
        skill = existing.get(slug)
        if skill is None:
            skill = _create(name, slug)
            existing[slug] = skill
        result.append(skill)
    return result


def _create(name, slug):
    try:
        with db.session.begin_nested():
            skill = Skill(name=name, slug=slug)
            db.session.add(skill)
        return skill
    except IntegrityError:
        return db.session.scalar(select(Skill).where(Skill.slug == slug))


def autocomplete(query, *, limit=8):
    """Known skill names matching ``query``: prefix matches first, then by how many people use them."""
    text = clean_skill_name(query)[:MAX_SKILL_LENGTH]
    if not text:
        return []
    slug = skill_slug(text)
    pattern_prefix = _escape_like(slug) + "%"
    pattern_any = "%" + _escape_like(slug) + "%"
    usage = (
        select(user_skills.c.skill_id.label("skill_id"))
        .union_all(select(user_interests.c.skill_id))
        .subquery()
    )
    popularity = func.count(usage.c.skill_id)
    is_prefix = Skill.slug.like(pattern_prefix, escape="\\")
    rows = db.session.execute(
        select(Skill.name)
        .outerjoin(usage, usage.c.skill_id == Skill.id)
        .where(or_(is_prefix, Skill.slug.like(pattern_any, escape="\\")))
        .group_by(Skill.id, Skill.name, Skill.slug)
        .order_by(case((is_prefix, 0), else_=1), popularity.desc(), Skill.name)
        .limit(limit)
    )
    return [row.name for row in rows]


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
