"""Where a mentor's payouts go: a UPI id or a bank account, encrypted at rest.

The details are a small JSON document encrypted with ``MultiFernet`` over ``PAYOUT_DETAILS_KEYS``
(the first key encrypts, every key decrypts); pages show only the masked form ("UPI ra••••@okaxis",
"HDFC0001234 · ••••6789"). A payout copies the kind, masked form and token of the details it is
requested with, so later edits never change where a past payout went. Only the admins' payout
queue decrypts them, to pay.
"""

import json
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import events
from ..exceptions import PermissionDenied, ValidationError
from ..extensions import db
from ..inputs import control_character_problem
from ..models import Payout, PayoutAccount, PayoutMethodKind, utcnow
from . import outbox
from .transactions import use_case

# A UPI id (VPA): a handle of letters, digits, dots, hyphens or underscores, "@", the bank's or
# app's handle (letters, then letters or digits), as NPCI issues them: name@okaxis, 9876543210@ybl.
UPI_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,255}@[a-z][a-z0-9]{1,63}$")
# The RBI's format: four letters (the bank), a zero, six letters or digits (the branch).
IFSC = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")
ACCOUNT_NUMBER = re.compile(r"^[0-9]{9,18}$")
DOT = "\u2022"


# ------------------------------------------------------------------------------- encryption


def _fernet():
    return MultiFernet([Fernet(key) for key in current_app.config["PAYOUT_DETAILS_KEYS"]])


def encrypt(details):
    """A token of the details dict under the current (first) key."""
    return _fernet().encrypt(json.dumps(details, sort_keys=True).encode()).decode()


def decrypt(token):
    """The details dict of a token, or None when no configured key opens it."""
    if not token:
        return None
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except (InvalidToken, ValueError):
        return None


def rotate_all():
    """Re-encrypt every stored token (payout details and the copies kept on payouts) with the
    current first key. Tokens already under it are left alone, so running it twice changes
    nothing the second time. Returns {"accounts": (rotated, current, unreadable), "payouts": …}."""
    keys = current_app.config["PAYOUT_DETAILS_KEYS"]
    first, every = Fernet(keys[0]), _fernet()

    def rotate(token):
        try:
            first.decrypt(token.encode())
            return None, "current"
        except InvalidToken:
            pass
        try:
            return every.rotate(token.encode()).decode(), "rotated"
        except InvalidToken:
            return None, "unreadable"

    counts = {}
    for name, model, column in (
        ("accounts", PayoutAccount, "details_encrypted"),
        ("payouts", Payout, "account_encrypted"),
    ):
        tally = {"rotated": 0, "current": 0, "unreadable": 0}
        rows = db.session.scalars(select(model).where(getattr(model, column) != "").order_by(model.id)).all()
        for row in rows:
            token, outcome = rotate(getattr(row, column))
            tally[outcome] += 1
            if token is not None:
                setattr(row, column, token)
        db.session.commit()
        counts[name] = (tally["rotated"], tally["current"], tally["unreadable"])
    return counts


# ------------------------------------------------------------------------------- masking


def mask_upi(upi_id):
    handle, _, bank = upi_id.partition("@")
    shown = handle[:2] if len(handle) > 3 else handle[:1]
    return f"UPI {shown}{DOT * 4}@{bank}"


def mask_bank(ifsc, account_number):
    return f"{ifsc} · {DOT * 4}{account_number[-4:]}"


def describe(details):
    """The full details as lines an admin pays from: [(label, value)]."""
    if details is None:
        return []
    if details.get("kind") == PayoutMethodKind.UPI:
        return [(_("UPI id"), details["upi_id"])]
    return [
        (_("Account holder"), details.get("holder_name", "")),
        (_("Account number"), details.get("account_number", "")),
        (_("IFSC"), details.get("ifsc", "")),
    ]


# ------------------------------------------------------------------------------- use cases


def account_of(user_id):
    return db.session.scalar(select(PayoutAccount).where(PayoutAccount.user_id == user_id))


def _text(data, name):
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(_("Check the payout details."), fields={name: [_("Must be text.")]})
    problem = control_character_problem(value)  # every payout detail is one line
    if problem:
        raise ValidationError(_("Check the payout details."), fields={name: [problem]})
    return value.strip()


def clean(data):
    """Validate submitted details; returns (kind, details dict, masked). Raises ValidationError
    naming each field that is wrong."""
    kind = _text(data, "kind").lower()
    if kind == PayoutMethodKind.UPI:
        upi_id = _text(data, "upi_id").lower()
        if not UPI_ID.fullmatch(upi_id):
            raise ValidationError(
                _("Check the UPI id."),
                fields={
                    "upi_id": [_("Enter a UPI id such as name@okaxis (letters, digits, . - _ before the @).")]
                },
            )
        return kind, {"kind": kind, "upi_id": upi_id}, mask_upi(upi_id)
    if kind == PayoutMethodKind.BANK:
        errors = {}
        number = re.sub(r"[\s-]", "", _text(data, "account_number"))
        confirm = re.sub(r"[\s-]", "", _text(data, "account_number_confirm"))
        ifsc = _text(data, "ifsc").upper()
        holder = " ".join(_text(data, "holder_name").split())
        if not ACCOUNT_NUMBER.fullmatch(number):
            errors["account_number"] = [_("An account number is 9 to 18 digits.")]
        elif confirm != number:
            errors["account_number_confirm"] = [_("The two account numbers differ.")]
        if not IFSC.fullmatch(ifsc):
            errors["ifsc"] = [
                _("An IFSC is 11 characters: 4 letters, a zero, then 6 letters or digits (e.g. HDFC0001234).")
            ]
        if not 2 <= len(holder) <= 100:
            errors["holder_name"] = [_("Enter the name on the account (2 to 100 characters).")]
        if errors:
            raise ValidationError(_("Check the bank account details."), fields=errors)
        details = {"kind": kind, "account_number": number, "ifsc": ifsc, "holder_name": holder}
        return kind, details, mask_bank(ifsc, number)
    raise ValidationError(
        _("Choose UPI or a bank account."), fields={"kind": [_("Choose UPI or bank account.")]}
    )


@use_case
def save(user, data):
    """Add or replace the user's payout details; the user hears of the change (a security event:
    payouts go wherever these say)."""
    if not user.is_mentor:
        raise PermissionDenied(_("Only mentors have payouts."), code="not_a_mentor")
    kind, details, masked = clean(data)
    token = encrypt(details)
    account = account_of(user.id)
    if account is None:
        account = PayoutAccount(user_id=user.id, kind=kind, details_encrypted=token, masked=masked)
        db.session.add(account)
        try:
            db.session.flush()
        except IntegrityError:
            # Saved from two tabs at once: the other insert won; this one replaces it.
            db.session.rollback()
            account = account_of(user.id)
    account.kind, account.details_encrypted, account.masked = kind, token, masked
    account.updated_at = utcnow()

    events.record(
        "security_event",
        user,
        _("Your payout details changed"),
        [
            _("Payouts now go to %(account)s.", account=masked),
            _("If you didn't make this change, change your password and tell us at once."),
        ],
    )
    db.session.commit()
    outbox.dispatch()
    return account
