"""Skills and interests: resolving typed names to shared Skill rows, autocomplete and suggestions."""

import logging
import threading
import time
from dataclasses import asdict

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select, union_all
from sqlalchemy.exc import IntegrityError

from ..exceptions import ValidationError
from ..extensions import db
from ..inputs import control_character_problem
from ..ml.skill_suggest import SkillIndex, load_vocabulary
from ..ml.text import MAX_SKILL_LENGTH, clean_skill_name, skill_slug, split_tags
from ..models import Skill, session_skills, user_interests, user_skills
from . import ratelimit

log = logging.getLogger(__name__)

MAX_TAGS = 20
MAX_SUGGESTIONS = 20
# How often the suggestion index checks the skills table for new skills, and the age at which it
# is rebuilt anyway (new lists change usage and co-occurrence without adding skills).
INDEX_CHECK_SECONDS = 30
INDEX_MAX_AGE_SECONDS = 600


def resolve(names, *, field="skills"):
    """Skill rows for the given names, creating new ones (the vocabulary grows with use).

    Runs inside the caller's transaction; a concurrent insert of the same new skill is
    absorbed with a savepoint instead of failing the caller.
    """
    # Each name is one line: refused with control characters, not quietly cleaned of them.
    typed = [names] if isinstance(names, str) else names
    for name in typed if isinstance(typed, list | tuple) else ():
        problem = isinstance(name, str) and control_character_problem(name)
        if problem:
            raise ValidationError(problem, fields={field: [problem]})
    try:
        names = split_tags(names)
    except TypeError as exc:
        raise ValidationError(
            _("Send %(field)s as a list of names.", field=field),
            fields={field: [_("Must be a list of names.")]},
        ) from exc
    if len(names) > MAX_TAGS:
        raise ValidationError(
            _("Add at most %(num)s %(field)s.", num=MAX_TAGS, field=field),
            fields={field: [_("At most %(num)s items.", num=MAX_TAGS)]},
        )
    for name in names:
        if len(name) > MAX_SKILL_LENGTH:
            message = _("Keep each name under %(num)s characters.", num=MAX_SKILL_LENGTH)
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


def suggest(query, *, selected=None, limit=8, ip_address=""):
    """What to offer someone typing ``query`` into a skills box that already holds ``selected``:
    matching skills (typos and aliases forgiven) and skills often listed with the chosen ones.

    Raises ValidationError naming every refused field, RateLimited past the per-address limit.
    """
    ratelimit.hit("skill-suggest-ip", ip_address, "SKILL_SUGGEST_LIMIT_PER_IP")
    errors = {}
    query = "" if query is None else query
    if not isinstance(query, str):
        errors["query"] = [_("Must be a string.")]
    elif len(query) > MAX_SKILL_LENGTH:
        errors["query"] = [_("At most %(num)s characters.", num=MAX_SKILL_LENGTH)]
    try:
        selected = split_tags(selected)
    except TypeError:
        errors["selected"] = [_("Must be a list of names.")]
    else:
        if len(selected) > MAX_TAGS:
            errors["selected"] = [_("At most %(num)s items.", num=MAX_TAGS)]
        elif any(len(name) > MAX_SKILL_LENGTH for name in selected):
            errors["selected"] = [_("Keep each name under %(num)s characters.", num=MAX_SKILL_LENGTH)]
    if type(limit) is not int or not 1 <= limit <= MAX_SUGGESTIONS:
        errors["limit"] = [_("A whole number from 1 to %(num)s.", num=MAX_SUGGESTIONS)]
    if errors:
        raise ValidationError(_("Please correct the highlighted fields."), fields=errors)
    suggestions, related = suggestion_index().answer(query, selected=selected, limit=limit)
    return {"suggestions": [asdict(s) for s in suggestions], "related": [asdict(r) for r in related]}


class _IndexHolder:
    """One app's suggestion index in this process, and when it was built and last checked."""

    def __init__(self):
        self.lock = threading.Lock()
        self.index = None
        self.stamp = None
        self.built_at = 0.0
        self.checked_at = 0.0
        self.stale = False


def _holder(app):
    return app.extensions.setdefault("peerlearn.skill_index", _IndexHolder())


def suggestion_index():
    """This process's SkillIndex for the current app: built on first use, checked against the
    skills table at most every INDEX_CHECK_SECONDS and rebuilt when a skill was added or it is
    older than INDEX_MAX_AGE_SECONDS. While one request rebuilds, others answer from the old one."""
    holder = _holder(current_app)
    index, now = holder.index, time.monotonic()
    if index is not None and not holder.stale:
        if now - holder.checked_at < INDEX_CHECK_SECONDS:
            return index
        holder.checked_at = now  # first, so that concurrent requests do not all check
        if _skills_stamp() == holder.stamp and now - holder.built_at < INDEX_MAX_AGE_SECONDS:
            return index
    if not holder.lock.acquire(blocking=index is None):
        return index  # another request is rebuilding; the old index is still good
    try:
        if holder.index is index:  # nobody rebuilt it while this request waited
            _rebuild(holder)
        return holder.index
    finally:
        holder.lock.release()


def invalidate_suggestion_index(app=None):
    """Make the next suggestion rebuild the index (after a bulk import, and in tests)."""
    _holder(app or current_app).stale = True


def _skills_stamp():
    """A cheap fingerprint of the skills table: it changes when a skill is added or removed."""
    return tuple(db.session.execute(select(func.count(Skill.id), func.max(Skill.id))).one())


def build_suggestion_index():
    """A SkillIndex from the vocabulary and the database: every skill, and every list of skills
    (one per person, skills and interests together, and one per session)."""
    skill_rows = db.session.execute(select(Skill.id, Skill.name)).all()
    # Even list ids are people, odd ones sessions. The rows stream straight into one array.
    listings = db.session.execute(
        union_all(
            select(user_skills.c.user_id * 2, user_skills.c.skill_id),
            select(user_interests.c.user_id * 2, user_interests.c.skill_id),
            select(session_skills.c.session_id * 2 + 1, session_skills.c.skill_id),
        )
    )
    return SkillIndex(load_vocabulary(), skill_rows, listings)


def _rebuild(holder):
    holder.stale = False
    started = time.perf_counter()
    stamp = _skills_stamp()
    holder.index = build_suggestion_index()
    holder.stamp = stamp
    holder.built_at = holder.checked_at = time.monotonic()
    log.info(
        "skill suggestion index built: %d skills, %d lists, in %.0f ms",
        holder.index.size,
        holder.index.list_count,
        (time.perf_counter() - started) * 1000,
    )


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
