"""A mentor's money as they see it: their earnings (from services.earnings), payouts and the
account payouts go to."""

from ..links import external_url


def _iso(value):
    return value.isoformat() if value is not None else None


def payout_json(payout):
    return {
        "id": payout.id,
        "amount_paise": payout.amount_paise,
        "currency": payout.currency,
        "status": payout.status,
        "reference": payout.reference,
        "note": payout.note,
        "created_at": payout.created_at.isoformat(),
        "paid_at": _iso(payout.paid_at),
        "account_kind": payout.account_kind or None,
        "account_masked": payout.account_masked or None,
    }


def account_json(account):
    if account is None:
        return None
    return {"kind": account.kind, "masked": account.masked, "updated_at": account.updated_at.isoformat()}


def earnings_json(money, payouts, account, statement_months, states):
    """The earnings page's figures: ``money`` (services.earnings.load), the mentor's payouts and
    payout account, the months with a statement and what each money state means."""
    by_session = [
        dict(
            row,
            starts_at=_iso(row["starts_at"]),
            ended_at=_iso(row["ended_at"]),
            settles_at=_iso(row["settles_at"]),
        )
        for row in money.by_session()
    ]
    return {
        "summary": money.summary(),
        "by_session": by_session,
        "by_month": money.by_month(),
        "payouts": [payout_json(p) for p in payouts],
        "payout_account": account_json(account),
        "statements": [
            {
                "month": month,
                "url": external_url("booking.statement", month=month),
                "csv_url": external_url("booking.statement", month=f"{month}.csv"),
            }
            for month in statement_months
        ],
        "states": {key: {"label": word.label, "definition": word.definition} for key, word in states.items()},
    }
