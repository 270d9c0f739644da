"""Accounts: registration, email verification, password reset, profile edits and turning
teaching on ("Become a mentor")."""

import re
import secrets
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale
from babel.dates import get_timezone_location
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from wtforms import SelectChoice

from .. import tasks
from ..exceptions import Conflict, PermissionDenied, TokenInvalid, ValidationError
from ..extensions import db
from ..i18n import DEFAULT_LANGUAGE, LANGUAGES, current_language
from ..inputs import READ_ONLY_MESSAGE, clean_text, refuse_fields
from ..limits import MAX_BIO_LENGTH, MAX_HEADLINE_LENGTH, MAX_HOURLY_RATE_PAISE, MAX_NAME_LENGTH
from ..links import external_url
from ..models import (
    SELF_SERVICE_ROLES,
    AccountToken,
    NotificationKind,
    Role,
    TokenPurpose,
    User,
    hash_token,
    utcnow,
)
from . import auth, mail, notifications, outbox, passwords, ratelimit, skills

PROFILE_FIELDS = {"name", "headline", "bio", "timezone", "skills", "interests", "hourly_rate_paise"}
MENTOR_ONLY_FIELDS = {"headline", "hourly_rate_paise"}


@lru_cache(maxsize=1)
def timezones():
    return frozenset(available_timezones())


# Shown first in the picker: India (prices are in rupees), then the zones most people live in.
COMMON_TIMEZONES = (
    "Asia/Kolkata",
    "Asia/Dubai",
    "Asia/Singapore",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/Chicago",
    "America/Toronto",
    "Europe/Berlin",
    "Europe/Paris",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Colombo",
    "Asia/Riyadh",
    "Asia/Kuala_Lumpur",
    "Africa/Nairobi",
    "UTC",
)
# The optgroups after "Common", by the first part of a zone's name.
TIMEZONE_REGIONS = {
    "Africa": _l("Africa"),
    "America": _l("Americas"),
    "Antarctica": _l("Antarctica"),
    "Arctic": _l("Arctic"),
    "Asia": _l("Asia"),
    "Atlantic": _l("Atlantic Ocean"),
    "Australia": _l("Australia"),
    "Europe": _l("Europe"),
    "Indian": _l("Indian Ocean"),
    "Pacific": _l("Pacific"),
}
COMMON_TIMEZONES_GROUP = _l("Common")
OTHER_TIMEZONES = _l("Other names")


def _tz_table(name):
    """Rows of one of the tz database's tables (zone.tab, iso3166.tab), or none if it is absent."""
    try:
        from importlib.resources import files

        text = files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        try:
            with open(f"/usr/share/zoneinfo/{name}", encoding="utf-8") as table:
                text = table.read()
        except OSError:
            return []
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def _zone_country_codes():
    """Each canonical zone's country code, e.g. "Asia/Kolkata" → "IN"."""
    return {row[2]: row[0] for row in _tz_table("zone.tab") if len(row) >= 3}


@lru_cache(maxsize=1)
def _zone_countries():
    """Each canonical zone's country name, e.g. "Asia/Kolkata" → "India"."""
    countries = {row[0]: row[1] for row in _tz_table("iso3166.tab") if len(row) >= 2}
    return {zone: countries.get(code, code) for zone, code in _zone_country_codes().items()}


@lru_cache(maxsize=len(LANGUAGES))
def _zone_places(language):
    """{zone: (country, city)} for every canonical zone, in ``language``: the tz database's own
    English names, or CLDR's (Babel's) in another language ("Asia/Kolkata" → ("भारत", "कोलकाता")).
    A name CLDR lacks stays as the tz database writes it."""
    if language == DEFAULT_LANGUAGE:
        return {
            zone: (country, zone.rsplit("/", 1)[-1].replace("_", " "))
            for zone, country in _zone_countries().items()
        }
    locale = Locale.parse(language)
    english = _zone_places(DEFAULT_LANGUAGE)
    places = {}
    for zone, code in _zone_country_codes().items():
        country = locale.territories.get(code) or english[zone][0]
        try:
            city = get_timezone_location(zone, locale=locale, return_city=True)
        except LookupError:
            city = english[zone][1]
        places[zone] = (country, city)
    return places


def _utc_offset(name, moment):
    minutes = int(moment.astimezone(ZoneInfo(name)).utcoffset().total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return minutes, f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def timezone_label(name, moment=None, language=DEFAULT_LANGUAGE):
    """How a zone reads in the picker: "(UTC+05:30) India — Kolkata" ("(UTC+05:30) भारत — कोलकाता"
    in Hindi), the offset as of ``moment``. Old and alias names read as they are written."""
    _minutes, offset = _utc_offset(name, moment or utcnow())
    place = _zone_places(language).get(name)
    if place is None:
        return f"({offset}) {name.replace('_', ' ')}"
    country, city = place
    return f"({offset}) {country}" if country == city else f"({offset}) {country} — {city}"


def timezone_choices(moment=None):
    """Every timezone for a select, in optgroups: the common ones first (India at the top), then
    one group per region ordered by UTC offset, then the old and alias names (still accepted, so
    an account that has one keeps it). Offsets are today's, daylight saving included; names are in
    the reader's language, and a label that is not English carries the English one in
    ``data-search`` so the picker's search finds a zone by either."""
    moment = moment or utcnow()
    # A copy: the cached list is shared by every request of the hour in that language.
    return list(_timezone_choices_on(moment.replace(minute=0, second=0, microsecond=0), current_language()))


@lru_cache(maxsize=4 * len(LANGUAGES))
def _timezone_choices_on(moment, language):
    available = timezones()
    canonical = _zone_countries()

    def choice(name, group):
        label = timezone_label(name, moment, language)
        english = timezone_label(name, moment)
        render_kw = {"data-search": english} if english != label else None
        return SelectChoice(name, label, render_kw=render_kw, optgroup=group)

    common_group = str(COMMON_TIMEZONES_GROUP)
    common = [choice(n, common_group) for n in COMMON_TIMEZONES if n in available]
    grouped = {}
    for name in available - set(COMMON_TIMEZONES):
        region = name.split("/", 1)[0]
        group = TIMEZONE_REGIONS.get(region) if name in canonical else None
        grouped.setdefault(str(group or OTHER_TIMEZONES), []).append((_utc_offset(name, moment)[0], name))
    other = str(OTHER_TIMEZONES)
    order = [*sorted(g for g in grouped if g != other), other]
    return common + [
        choice(name, group) for group in order for _minutes, name in sorted(grouped.get(group, []))
    ]


# ---------------------------------------------------------------------------- registration


def register(
    *,
    email,
    password,
    name,
    role,
    timezone=None,
    skills_=None,
    interests=None,
    headline="",
    bio="",
    hourly_rate_paise=0,
    ip_address="",
):
    """Start an account and email a link to confirm the address; answer the same whether or
    not the address already has an account, so nobody learns which addresses do.

    A new address gets an account that cannot sign in with its password until the link is
    followed (the link signs the new user in). An address that already has an account gets an
    email telling its owner that someone tried, with the ways back in; that account is left
    as it was. Both pay for the password hash and write one email, so the time taken does not
    tell them apart either. Nothing is returned: callers have nothing to branch on.

    Every account learns; ``role`` "mentor" (the original API's value) turns teaching on from
    the start."""
    ratelimit.hit("register-ip", ip_address, "REGISTER_LIMIT_PER_IP")
    errors = {}
    email = clean_text(email, "email", errors, max_length=254)
    name = clean_text(name, "name", errors, max_length=MAX_NAME_LENGTH, required=True)
    headline = clean_text(headline, "headline", errors, max_length=MAX_HEADLINE_LENGTH)
    bio = clean_text(bio, "bio", errors, max_length=MAX_BIO_LENGTH, multiline=True)
    password = password if isinstance(password, str) else ""
    if "email" not in errors:
        try:
            email = validate_email(email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            errors["email"] = [_("Enter a valid email address.")]
    if role not in {r.value for r in SELF_SERVICE_ROLES}:
        errors["role"] = [_("Choose learner or mentor.")]
    timezone = timezone or current_app.config["DEFAULT_TIMEZONE"]
    if not isinstance(timezone, str) or timezone not in timezones():
        errors["timezone"] = [_("Choose a timezone from the list.")]
    rate = 0
    if role == Role.MENTOR:
        try:
            rate = _check_rate(hourly_rate_paise)
        except ValidationError as exc:
            errors.update(exc.fields)
    try:
        passwords.check_password_policy(password, email=email, name=name)
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(_("Please correct the highlighted fields."), fields=errors)
    try:
        # Checked for every address alike, before anything depends on whether it is taken.
        # Left out or null is none; any other value must be names ({} or 0 is a mistake to say).
        chosen_skills = skills.resolve([] if skills_ is None else skills_, field="skills")
        chosen_interests = skills.resolve([] if interests is None else interests, field="interests")
    except ValidationError:
        db.session.rollback()
        raise
    # Per address as well as per client: the owner of a taken address is not flooded with
    # "someone tried" emails. Counted for new and taken addresses alike.
    ratelimit.hit("register-account", email, "RESET_LIMIT_PER_ACCOUNT")
    password_hash = passwords.hash_password(password)

    owner = db.session.scalar(select(User).where(User.email == email))
    if owner is not None:
        _tell_owner_of_attempt(owner)
        return
    user = User(email=email, name=name, password_hash=password_hash, timezone=timezone)
    if role == Role.MENTOR:
        user.teaching_enabled_at = utcnow()
        user.headline = headline
        user.hourly_rate_paise = rate
    user.bio = bio
    user.skills = chosen_skills
    user.interests = chosen_interests
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        # The same address registered a moment ago by a request running beside this one.
        db.session.rollback()
        owner = db.session.scalar(select(User).where(User.email == email))
        if owner is None:
            raise
        _tell_owner_of_attempt(owner)
        return
    _compose_verification(user)
    db.session.commit()
    outbox.dispatch()


def _tell_owner_of_attempt(owner):
    """Someone registered with ``owner``'s address: tell the owner, in place of a confirmation.

    Nothing staged for the new account is kept (skills it would have added). An owner who never
    confirmed the address gets a link to choose a password, which confirms it too: whoever
    registered first, perhaps not the owner, no longer holds the password after that."""
    db.session.rollback()
    if not owner.is_active:
        db.session.commit()
        return
    context = {"login_url": external_url("auth.login"), "forgot_url": external_url("auth.forgot_password")}
    if not owner.is_verified:
        signed = _issue_token(owner, TokenPurpose.RESET_PASSWORD, _reset_lifetime())
        context["finish_url"] = external_url("auth.reset_password", token=signed)
        context["minutes"] = current_app.config["PASSWORD_RESET_MINUTES"]
    mail.compose(owner, "account_exists", _l("Someone tried to sign up with your email"), **context)
    db.session.commit()
    outbox.dispatch()


def create_admin(*, email, password, name):
    """Admins are only created from the command line."""
    email = auth.normalise_email(email)
    passwords.check_password_policy(password, email=email, name=name)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(_("An account with this email already exists."), code="email_taken")
    user = User(
        email=email,
        name=name.strip(),
        is_admin=True,
        password_hash=passwords.hash_password(password),
        timezone=current_app.config["DEFAULT_TIMEZONE"],
        email_verified_at=utcnow(),
    )
    db.session.add(user)
    db.session.commit()
    return user


def _check_rate(value):
    if value is None:
        value = 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            _("Hourly rate must be a whole number of paise."),
            fields={"hourly_rate_paise": [_("Enter a whole number of paise.")]},
        )
    paise = value
    if paise < 0 or paise > MAX_HOURLY_RATE_PAISE:
        raise ValidationError(
            _("Hourly rate is out of range."),
            fields={"hourly_rate_paise": [_("Enter an amount between ₹0 and ₹10,00,000.")]},
        )
    return paise


def rupees_to_paise(value):
    """Convert a rupee amount from a form (Decimal, str or int) to integer paise, exactly."""
    try:
        amount = Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation as exc:
        raise ValidationError(_("Enter an amount in rupees.")) from exc
    paise = amount * 100
    if paise != paise.to_integral_value():
        raise ValidationError(_("Use at most two decimal places."))
    return int(paise)


_RUPEES = re.compile(r"^\d{1,7}(\.\d{1,2})?$")


def parse_rupees(text, field="amount"):
    """A rupee amount typed in a form ("450", "1,299.50", "₹99") as integer paise."""
    cleaned = (text or "").strip().replace(",", "").replace("₹", "").strip() if isinstance(text, str) else ""
    if not cleaned:
        raise ValidationError(
            _("Enter an amount in rupees."), fields={field: [_("Enter an amount in rupees.")]}
        )
    if not _RUPEES.match(cleaned):
        message = _("Use rupees with at most two decimals, like 250 or 249.50.")
        raise ValidationError(message, fields={field: [message]})
    return int(Decimal(cleaned) * 100)


# ---------------------------------------------------------------------------- emailed tokens


def _serializer(purpose):
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"peerlearn:{purpose}")


def _issue_token(user, purpose, lifetime):
    """A signed link token for ``user``, bound to their current credential epoch: a later
    password reset or change, or "log out everywhere", makes it useless."""
    raw = secrets.token_urlsafe(24)
    now = utcnow()
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=hash_token(raw),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return _serializer(purpose.value).dumps([raw, user.credential_epoch])


def _unpack(payload):
    """``(raw, epoch)`` from a signed payload. Links sent before epochs existed hold the raw
    string alone and count as issued at epoch 0."""
    if isinstance(payload, str):
        return payload, 0
    if (
        isinstance(payload, list)
        and len(payload) == 2
        and isinstance(payload[0], str)
        and isinstance(payload[1], int)
        and not isinstance(payload[1], bool)
    ):
        return payload[0], payload[1]
    raise TokenInvalid(_("This link is not valid."))


def _find_token(signed, purpose, max_age):
    """Check signature, age, the server record and the credential epoch; return the
    AccountToken (not yet consumed) and the epoch it was issued under."""
    try:
        payload = _serializer(purpose.value).loads(signed, max_age=int(max_age.total_seconds()))
    except SignatureExpired as exc:
        raise TokenInvalid(_("This link has expired. Request a new one."), code="token_expired") from exc
    except BadSignature as exc:
        raise TokenInvalid(_("This link is not valid. Check that you copied all of it.")) from exc
    raw, epoch = _unpack(payload)
    token = db.session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == hash_token(raw), AccountToken.purpose == purpose.value
        )
    )
    if token is None:
        raise TokenInvalid(_("This link is not valid."))
    if token.used_at is not None:
        raise TokenInvalid(_("This link has already been used."), code="token_used")
    if token.expires_at <= utcnow():
        raise TokenInvalid(_("This link has expired. Request a new one."), code="token_expired")
    if epoch != token.user.credential_epoch:
        raise TokenInvalid(SUPERSEDED, code="token_superseded")
    return token, epoch


def _consume(token):
    """Mark a token used; exactly one caller wins even when two requests race."""
    result = db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise TokenInvalid(_("This link has already been used."), code="token_used")


SUPERSEDED = _l(
    "This link no longer works: the account's password was changed or it was signed out "
    "everywhere after the link was sent. Request a new one."
)


def _verification_lifetime():
    return timedelta(hours=current_app.config["EMAIL_VERIFICATION_HOURS"])


def _reset_lifetime():
    return timedelta(minutes=current_app.config["PASSWORD_RESET_MINUTES"])


def _compose_verification(user):
    signed = _issue_token(user, TokenPurpose.VERIFY_EMAIL, _verification_lifetime())
    return mail.compose(
        user,
        "verify_email",
        _l("Confirm your email for PeerLearn"),
        link=external_url("auth.verify_email", token=signed),
        hours=current_app.config["EMAIL_VERIFICATION_HOURS"],
    )


def resend_verification(user, *, ip_address=""):
    if user.is_verified:
        return False
    ratelimit.hit("verify-resend", str(user.id), "RESET_LIMIT_PER_ACCOUNT")
    ratelimit.hit("verify-resend-ip", ip_address, "RESET_LIMIT_PER_IP")
    _compose_verification(user)
    db.session.commit()
    outbox.dispatch()
    return True


def verify_email(signed):
    token, _epoch = _find_token(signed, TokenPurpose.VERIFY_EMAIL, _verification_lifetime())
    _consume(token)
    user = token.user
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    db.session.commit()
    return user


def request_password_reset(email, *, ip_address=""):
    """Send a reset link if the address has an active account. Callers answer the same either
    way, and the time taken is the same too: this only counts the attempt and queues
    ``deliver_password_reset``, which looks the address up on a worker (in the embedded mode,
    where jobs run in the web process, once the answer has been sent)."""
    email = auth.normalise_email(email)
    ratelimit.hit("reset-ip", ip_address, "RESET_LIMIT_PER_IP")
    ratelimit.hit("reset-account", email, "RESET_LIMIT_PER_ACCOUNT")
    queued = tasks.enqueue("emails", deliver_password_reset, email, after_response=True)
    if not queued and not current_app.config["JOBS_INLINE"]:
        # Redis is away: a slower answer is better than a reset link that never comes.
        deliver_password_reset(email)


def deliver_password_reset(email):
    """Job: email a reset link to the active account with this address, if there is one."""
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.is_active:
        return
    signed = _issue_token(user, TokenPurpose.RESET_PASSWORD, _reset_lifetime())
    mail.compose(
        user,
        "reset_password",
        _l("Reset your PeerLearn password"),
        link=external_url("auth.reset_password", token=signed),
        minutes=current_app.config["PASSWORD_RESET_MINUTES"],
    )
    db.session.commit()
    outbox.dispatch()


def check_reset_token(signed):
    """Validate a reset link without using it up (to show the form)."""
    token, _epoch = _find_token(signed, TokenPurpose.RESET_PASSWORD, _reset_lifetime())
    return token.user


def reset_password(signed, new_password):
    """Set a new password from a reset link. Every existing sign-in of the user ends, every
    other link emailed before stops working and the calendar feed gets a new URL.

    Of two links used at once, only one wins: the epoch moves on from the value the link was
    issued under in one conditional update, and the other finds it moved."""
    token, epoch = _find_token(signed, TokenPurpose.RESET_PASSWORD, _reset_lifetime())
    user = token.user
    passwords.check_password_policy(new_password or "", email=user.email, name=user.name)
    _consume(token)
    if not auth.advance_credential_epoch(user, expected=epoch):
        db.session.rollback()
        raise TokenInvalid(SUPERSEDED, code="token_superseded")
    user.password_hash = passwords.hash_password(new_password)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()  # they just proved they read this inbox
    _tell_password_changed(user)
    db.session.commit()
    auth.end_sessions_of(user)
    outbox.dispatch()
    return user


def change_password(user, current_password, new_password, *, keep=None):
    """Change the password of a signed-in user who knows the current one. Every other sign-in
    ends (``keep``, the browser or token asking, stays signed in), every link emailed before
    stops working and the calendar feed gets a new URL; the owner is told by email."""
    ratelimit.hit("password-change", str(user.id), "LOGIN_LIMIT_PER_ACCOUNT")
    errors = {}
    current_password = current_password if isinstance(current_password, str) else ""
    new_password = new_password if isinstance(new_password, str) else ""
    if not passwords.verify_password(user.password_hash, current_password):
        errors["current_password"] = [_("That is not your current password.")]
    try:
        passwords.check_password_policy(new_password, email=user.email, name=user.name)
    except ValidationError as exc:
        errors["new_password"] = exc.fields["password"]
    if errors:
        raise ValidationError(_("Please correct the highlighted fields."), fields=errors)
    auth.advance_credential_epoch(user)
    user.password_hash = passwords.hash_password(new_password)
    _tell_password_changed(user, this_device_kept=keep is not None)
    db.session.commit()
    auth.end_sessions_of(user, keep=keep)
    outbox.dispatch()
    return user


def _tell_password_changed(user, *, this_device_kept=False):
    # Lazy: worded in the user's language when recorded (notifications.notify).
    body = (
        _l("Every other device was signed out. If this wasn't you, reset your password now.")
        if this_device_kept
        else _l("Every device was signed out. If this wasn't you, reset your password now.")
    )
    notifications.notify(
        user,
        NotificationKind.SECURITY,
        title=_l("Your password was changed"),
        body=body,
        email=notifications.Email(
            "password_changed",
            _l("Your PeerLearn password was changed"),
            context={"this_device_kept": this_device_kept},
        ),
    )


# ---------------------------------------------------------------------------- profile


def update_profile(user, changes):
    """Apply whitelisted profile changes. Any other field is refused and nothing is written."""
    refused = set(changes) - PROFILE_FIELDS
    if not user.is_mentor:
        refused |= set(changes) & MENTOR_ONLY_FIELDS
    refuse_fields(refused, message=_("These fields cannot be changed here"), field_message=READ_ONLY_MESSAGE)
    errors = {}
    texts = {}
    for field, limit, required in (
        ("name", MAX_NAME_LENGTH, True),
        ("headline", MAX_HEADLINE_LENGTH, False),
        ("bio", MAX_BIO_LENGTH, False),
    ):
        if field in changes:
            texts[field] = clean_text(
                changes[field], field, errors, max_length=limit, required=required, multiline=field == "bio"
            )
    if "timezone" in changes and (
        not isinstance(changes["timezone"], str) or changes["timezone"] not in timezones()
    ):
        errors["timezone"] = [_("Choose a timezone from the list.")]
    rate = None
    if "hourly_rate_paise" in changes:
        try:
            rate = _check_rate(changes["hourly_rate_paise"])
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(_("Please correct the highlighted fields."), fields=errors)

    try:
        for field, value in texts.items():
            setattr(user, field, value)
        if "timezone" in changes:
            user.timezone = changes["timezone"]
        if rate is not None:
            user.hourly_rate_paise = rate
        if "skills" in changes:
            user.skills = skills.resolve(changes["skills"], field="skills")
        if "interests" in changes:
            user.interests = skills.resolve(changes["interests"], field="interests")
        db.session.commit()
    except ValidationError:
        db.session.rollback()
        raise
    return user


# ---------------------------------------------------------------------------- teaching


def enable_teaching(user, *, headline, bio="", hourly_rate_paise=0, now=None):
    """Turn teaching on for ``user`` ("Become a mentor") with the profile learners will see:
    the same account keeps its bookings and gains sessions, earnings and requests.

    Returns ``(user, turned_on)``. Asking again (a double click, a second tab) saves the profile
    and keeps the first date; only one request turns it on. Publishing needs a confirmed email,
    so teaching does too. Payout details are added later, on the earnings page."""
    now = now or utcnow()
    if not user.is_verified:
        raise PermissionDenied(
            _("Confirm your email address before you start teaching."), code="email_unverified"
        )
    errors = {}
    headline = clean_text(headline, "headline", errors, max_length=MAX_HEADLINE_LENGTH, required=True)
    bio = clean_text(bio, "bio", errors, max_length=MAX_BIO_LENGTH, multiline=True)
    rate = 0
    try:
        rate = _check_rate(hourly_rate_paise)
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(_("Please correct the highlighted fields."), fields=errors)
    user.headline = headline
    user.bio = bio
    user.hourly_rate_paise = rate
    turned_on = (
        db.session.execute(
            update(User)
            .where(User.id == user.id, User.teaching_enabled_at.is_(None))
            .values(teaching_enabled_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )
    db.session.commit()
    return user, turned_on
