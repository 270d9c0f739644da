"""Payout details: a UPI id or a bank account, checked, encrypted at rest, shown masked, rotated to
a new key by a command; payouts need them and keep the ones they were requested with."""

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from peerlearn.exceptions import ValidationError
from peerlearn.extensions import db
from peerlearn.models import Payout, PayoutAccount
from peerlearn.services import payout_accounts
from tests.conftest import extract_csrf


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Raman", email="asha@example.com")


def save_form(client, **fields):
    token = extract_csrf(client.get("/teach/payout-details").get_data(as_text=True))
    return client.post("/teach/payout-details", data={"csrf_token": token, **fields})


def stored_columns():
    """The raw columns, as a database dump would show them."""
    return db.session.execute(text("SELECT kind, details_encrypted, masked FROM payout_accounts")).all()


def test_a_mentor_adds_a_upi_id_shown_masked_and_stored_encrypted(client, auth, mentor):
    auth.login(mentor.email)
    page = client.get("/teach/earnings").get_data(as_text=True)
    assert "Add payout details" in page and "data-needs-details" in page
    response = save_form(client, kind="upi", upi_id="  Ravi.Kumar@OKAXIS ")
    assert response.status_code == 303
    [(kind, token, masked)] = stored_columns()
    assert (kind, masked) == ("upi", "UPI ra••••@okaxis")
    assert "ravi" not in token.lower() and "okaxis" not in token
    assert payout_accounts.decrypt(token) == {"kind": "upi", "upi_id": "ravi.kumar@okaxis"}
    page = client.get("/teach/earnings").get_data(as_text=True)
    assert "UPI ra••••@okaxis" in page and "ravi.kumar" not in page
    # The change is told to the account's owner, as a security event.
    from peerlearn.models import Notification

    assert db.session.scalar(select(Notification.title).where(Notification.user_id == mentor.id)) == (
        "Your payout details changed"
    )


def test_a_bank_account_is_checked_then_replaces_the_upi_id(client, auth, mentor):
    auth.login(mentor.email)
    save_form(client, kind="upi", upi_id="ravi@okaxis")
    bad = save_form(
        client,
        kind="bank",
        holder_name="R",
        account_number="12 3456",
        account_number_confirm="123456",
        ifsc="hdfc1234567",
    )
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "An account number is 9 to 18 digits." in page
    assert "An IFSC is 11 characters" in page and "Enter the name on the account" in page
    mismatch = save_form(
        client,
        kind="bank",
        holder_name="Ravi Kumar",
        account_number="50100123456789",
        account_number_confirm="50100123456780",
        ifsc="HDFC0001234",
    )
    assert mismatch.status_code == 422 and "The two account numbers differ." in mismatch.get_data(
        as_text=True
    )
    assert stored_columns()[0][0] == "upi"  # nothing changed
    good = save_form(
        client,
        kind="bank",
        holder_name="  Ravi   Kumar ",
        account_number="5010 0123 4567 89",
        account_number_confirm="50100123456789",
        ifsc="hdfc0001234",
    )
    assert good.status_code == 303
    account = db.session.scalar(select(PayoutAccount))
    db.session.refresh(account)
    assert (account.kind, account.masked) == ("bank", "HDFC0001234 · ••••6789")
    assert "50100123456789" not in account.details_encrypted
    assert payout_accounts.decrypt(account.details_encrypted) == {
        "kind": "bank",
        "account_number": "50100123456789",
        "ifsc": "HDFC0001234",
        "holder_name": "Ravi Kumar",
    }
    assert db.session.scalar(select(db.func.count(PayoutAccount.id))) == 1


@pytest.mark.parametrize(
    "upi_id", ["ravi", "ravi@", "@okaxis", "ravi@ok axis", "ravi kumar@okaxis", "ravi@1bank", "r@okaxis"]
)
def test_bad_upi_ids_are_refused(app, mentor, upi_id):
    with pytest.raises(ValidationError) as refused:
        payout_accounts.save(mentor, {"kind": "upi", "upi_id": upi_id})
    assert "upi_id" in refused.value.fields


def test_ifsc_format(app, mentor):
    for ifsc in ("HDFC0001234", "SBIN0ABC123"):
        assert payout_accounts.IFSC.fullmatch(ifsc)
    for ifsc in ("HDFC1001234", "HDF00001234", "HDFC000123", "HDFC00012345", "1234HDFC567"):
        assert not payout_accounts.IFSC.fullmatch(ifsc)


def test_learners_have_no_payout_details(client, auth, make_user):
    auth.login(make_user().email)
    assert client.get("/teach/payout-details").status_code == 403


def test_a_payout_without_details_is_refused_with_a_link(client, auth, mentor, api_token):
    auth.login(mentor.email)
    page = client.get("/teach/earnings").get_data(as_text=True)
    assert 'href="/teach/payout-details"' in page
    headers = {"Authorization": f"Bearer {api_token(mentor.email)}"}
    response = client.post("/api/payouts/", json={"amount_paise": 100}, headers=headers)
    error = response.get_json()["error"]
    assert response.status_code == 409 and error["code"] == "payout_details_required"
    assert error["fields"]["payout_details"] == ["http://localhost/teach/payout-details"]
    assert "Add them at http://localhost/teach/payout-details" in error["message"]


def test_payout_details_over_the_api(client, mentor, api_token):
    headers = {"Authorization": f"Bearer {api_token(mentor.email)}"}
    assert client.get("/api/payout-details/", headers=headers).get_json()["data"] == {"payout_account": None}
    bad = client.put("/api/payout-details/", json={"kind": "bank", "ifsc": "X"}, headers=headers)
    assert bad.status_code == 422 and "ifsc" in bad.get_json()["error"]["fields"]
    response = client.put("/api/payout-details/", json={"kind": "upi", "upi_id": "asha@ybl"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["data"]["payout_account"]["masked"] == "UPI as••••@ybl"


def test_rotating_the_key_reencrypts_everything_and_is_idempotent(app, mentor, runner):
    payout_accounts.save(mentor, {"kind": "upi", "upi_id": "asha.raman@okaxis"})
    account = db.session.scalar(select(PayoutAccount))
    db.session.add(
        Payout(
            mentor_id=mentor.id,
            amount_paise=10000,
            account_kind=account.kind,
            account_masked=account.masked,
            account_encrypted=account.details_encrypted,
        )
    )
    db.session.add(Payout(mentor_id=mentor.id, amount_paise=5000))  # from before details existed
    db.session.commit()
    old_key = app.config["PAYOUT_DETAILS_KEYS"][0]
    new_key = Fernet.generate_key().decode()
    app.config["PAYOUT_DETAILS_KEYS"] = [new_key, old_key]

    result = runner.invoke(args=["rotate-payout-key"])
    assert result.exit_code == 0, result.output
    assert "payout details: 1 re-encrypted, 0 already under the current key, 0 unreadable" in result.output
    assert "payouts: 1 re-encrypted, 0 already under the current key, 0 unreadable" in result.output
    again = runner.invoke(args=["rotate-payout-key"])
    assert "payout details: 0 re-encrypted, 1 already under the current key" in again.output

    # The old key can go: everything opens with the new one alone.
    app.config["PAYOUT_DETAILS_KEYS"] = [new_key]
    db.session.expire_all()
    account = db.session.scalar(select(PayoutAccount))
    payout = db.session.scalar(select(Payout).where(Payout.account_encrypted != ""))
    assert payout_accounts.decrypt(account.details_encrypted)["upi_id"] == "asha.raman@okaxis"
    assert payout_accounts.decrypt(payout.account_encrypted)["upi_id"] == "asha.raman@okaxis"

    # A token no configured key opens is reported, and the command fails.
    app.config["PAYOUT_DETAILS_KEYS"] = [Fernet.generate_key().decode()]
    lost = runner.invoke(args=["rotate-payout-key"])
    assert (
        lost.exit_code != 0
        and "payout details: 0 re-encrypted, 0 already under the current key, 1 unreadable" in (lost.output)
    )
    assert payout_accounts.decrypt(account.details_encrypted) is None
