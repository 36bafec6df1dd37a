"""Signing in to a closed account: its members, with their own password, are told when it was
closed and until when it can be restored (or that it no longer can); anyone else gets the
usual answer, after the same password-hash work. What the tombstone keeps for that (email and
password hashes, never plain data) goes when the account is restored or purged."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from conftest import ADMIN, OTHER_OWNER, OWNER, PASSWORDS, PLAYER, pin_clock
from sqlalchemy import text

UTC = timezone.utc
CLOSED_AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # restorable through 27 February 2027
IN_WINDOW = CLOSED_AT + timedelta(days=30)
AFTER_WINDOW = datetime(2027, 2, 28, 0, 0, tzinfo=UTC)
ACME_MEMBERS = (OWNER, ADMIN, PLAYER)


def close_acme(engine, monkeypatch):
    from crm_tui.services import auth, closing

    pin_clock(monkeypatch, CLOSED_AT.isoformat())
    closing.close_account(engine, auth.as_member(engine, OWNER), "Acme Realty", PASSWORDS[OWNER])
    pin_clock(monkeypatch, None)


def closed_members(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT closed_account_id, email_hash, password_hash FROM closed_member")).all()


def member_hashes(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT email, password_hash FROM member")).all())


def sign_in_error(engine, email, password, now):
    from crm_tui.services import auth
    from crm_tui.services.errors import AuthenticationFailed

    with pytest.raises(AuthenticationFailed) as caught:
        auth.sign_in(engine, email, password, now=now)
    return caught.value


def test_closing_keeps_each_members_email_hash_and_password_hash_and_nothing_in_clear(fresh_demo, monkeypatch):
    from crm_tui.services import closing

    before = member_hashes(fresh_demo)
    close_acme(fresh_demo, monkeypatch)
    with fresh_demo.connect() as conn:
        tomb = conn.execute(text("SELECT id FROM closed_account WHERE state = 'closed'")).scalar_one()
    kept = closed_members(fresh_demo)
    assert sorted(kept) == sorted((tomb, closing.email_hash(e), before[e]) for e in ACME_MEMBERS)
    flat = repr(kept).lower()
    for email in ACME_MEMBERS:
        assert email not in flat and email.split("@")[0] not in flat


def test_the_owner_with_the_right_password_is_told_when_it_closed_and_until_when_to_restore(fresh_demo, monkeypatch):
    from crm_tui.services.errors import AccountClosed

    close_acme(fresh_demo, monkeypatch)
    error = sign_in_error(fresh_demo, " Dana@Acme-Realty.example ", PASSWORDS[OWNER], IN_WINDOW)
    assert isinstance(error, AccountClosed)
    assert str(error) == (
        "This account was closed on 27 November 2026. You can have it restored until "
        "27 February 2027 by writing to cases@allclients.com."
    )


@pytest.mark.parametrize("email", [ADMIN, PLAYER])
def test_a_team_member_with_the_right_password_is_told_too(fresh_demo, monkeypatch, email):
    from crm_tui.services.errors import AccountClosed

    close_acme(fresh_demo, monkeypatch)
    error = sign_in_error(fresh_demo, email, PASSWORDS[email], IN_WINDOW)
    assert isinstance(error, AccountClosed)
    assert str(error) == (
        "This account was closed on 27 November 2026. It can be restored until "
        "27 February 2027 if its owner writes to cases@allclients.com."
    )


@pytest.mark.parametrize(
    "email, password",
    [
        (OWNER, "demo-owner "),  # a closed member's email, a wrong password
        (ADMIN, PASSWORDS[OWNER]),  # another member's password
        ("nobody@acme-realty.example", PASSWORDS[OWNER]),  # an email that never had an account
    ],
)
def test_anyone_else_gets_the_usual_answer(fresh_demo, monkeypatch, email, password):
    from crm_tui.services.errors import AccountClosed

    close_acme(fresh_demo, monkeypatch)
    error = sign_in_error(fresh_demo, email, password, IN_WINDOW)
    assert not isinstance(error, AccountClosed)
    assert str(error) == "wrong email or password"


def test_after_the_window_it_says_permanently_deleted_and_after_purge_nothing(fresh_demo, monkeypatch):
    from crm_tui.services import closing

    close_acme(fresh_demo, monkeypatch)
    # the last second of the window, then the first one after it
    last = sign_in_error(fresh_demo, OWNER, PASSWORDS[OWNER], AFTER_WINDOW - timedelta(seconds=1))
    assert "restored until 27 February 2027" in str(last)
    after = sign_in_error(fresh_demo, PLAYER, PASSWORDS[PLAYER], AFTER_WINDOW)
    assert str(after) == (
        "This account was closed on 27 November 2026 and its data permanently deleted; "
        "its 3-month restore window ended on 27 February 2027. "
        "You're welcome to create a new account."
    )

    assert closing.purge(fresh_demo, now=AFTER_WINDOW).purged == 1
    assert closed_members(fresh_demo) == []
    for email in ACME_MEMBERS:
        assert str(sign_in_error(fresh_demo, email, PASSWORDS[email], AFTER_WINDOW)) == "wrong email or password"


def test_restore_drops_what_the_tombstone_kept_and_the_members_sign_in_again(fresh_demo, monkeypatch):
    from crm_tui.services import auth, closing

    before = member_hashes(fresh_demo)
    close_acme(fresh_demo, monkeypatch)
    closing.restore(fresh_demo, OWNER, now=IN_WINDOW)
    assert closed_members(fresh_demo) == []
    assert member_hashes(fresh_demo) == before
    for email in ACME_MEMBERS:
        assert auth.sign_in(fresh_demo, email, PASSWORDS[email], now=IN_WINDOW).account_name == "Acme Realty"


def test_a_second_closed_account_is_kept_apart(fresh_demo, monkeypatch):
    """Birch's tombstone keeps only Birch's owner; Acme's members are not told about Birch."""
    from crm_tui.services import auth, closing
    from crm_tui.services.errors import AccountClosed

    close_acme(fresh_demo, monkeypatch)
    pin_clock(monkeypatch, (CLOSED_AT + timedelta(days=3)).isoformat())
    closing.close_account(
        fresh_demo, auth.as_member(fresh_demo, OTHER_OWNER), "Birch & Co Bookkeeping", PASSWORDS[OTHER_OWNER]
    )
    pin_clock(monkeypatch, None)
    assert len(closed_members(fresh_demo)) == 4
    birch = sign_in_error(fresh_demo, OTHER_OWNER, PASSWORDS[OTHER_OWNER], IN_WINDOW)
    assert isinstance(birch, AccountClosed) and "closed on 30 November 2026" in str(birch)
    assert "until 28 February 2027" in str(birch)
    closing.restore(fresh_demo, OTHER_OWNER, now=IN_WINDOW)
    assert len(closed_members(fresh_demo)) == 3
    assert isinstance(sign_in_error(fresh_demo, OWNER, PASSWORDS[OWNER], IN_WINDOW), AccountClosed)


# --- the same work whichever answer -----------------------------------------------------------


def scrypt_calls(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


def test_every_answer_costs_exactly_one_password_hash(fresh_demo, monkeypatch):
    """The closed member's right and wrong password, an email that never had an account, a
    live member's wrong password: one scrypt each, no more, no fewer."""
    from crm_tui.services.errors import AccountClosed

    close_acme(fresh_demo, monkeypatch)
    calls = scrypt_calls(monkeypatch)
    for email, password, closed in (
        (OWNER, PASSWORDS[OWNER], True),
        (OWNER, "guess", False),
        ("nobody@example.com", "guess", False),
        (PLAYER, "guess", False),
        (OTHER_OWNER, "guess", False),
    ):
        calls.clear()
        error = sign_in_error(fresh_demo, email, password, IN_WINDOW)
        assert isinstance(error, AccountClosed) is closed, email
        assert len(calls) == 1, (email, password)


def test_a_closed_member_without_a_usable_password_costs_one_hash_too(fresh_demo, monkeypatch):
    """A member whose password was never set (an unusable one) cannot be told anything, and
    the answer takes the same hash work as for anyone else."""
    close_acme(fresh_demo, monkeypatch)
    with fresh_demo.begin() as conn:
        conn.execute(text("UPDATE closed_member SET password_hash = '!'"))
    calls = scrypt_calls(monkeypatch)
    error = sign_in_error(fresh_demo, OWNER, "!", IN_WINDOW)
    assert str(error) == "wrong email or password"
    assert len(calls) == 1
