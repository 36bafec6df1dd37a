"""The sign-in delay holds when attempts arrive together."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import PASSWORDS, PLAYER

T0 = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)


def _five_wrong(engine, now):
    from crm_tui.services import auth
    from crm_tui.services.errors import AuthenticationFailed

    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            auth.sign_in(engine, PLAYER, "guess", now=now)


def test_an_attempt_started_while_another_is_being_checked_waits(fresh_demo, monkeypatch):
    """Two guesses in the same open window: the second one, begun while the first one's
    password hash is being computed, is refused with the delay, not checked."""
    from crm_tui.services import auth
    from crm_tui.services.errors import AuthenticationFailed, Throttled

    _five_wrong(fresh_demo, T0)
    later = T0 + timedelta(seconds=auth.delay_after(5) + 1)  # the window is open again
    real_check = auth.check_password
    seen: list[BaseException | None] = []
    started: list[bool] = []

    def check_while_another_guess_arrives(password, encoded):
        if not started:
            started.append(True)
            try:
                auth.sign_in(fresh_demo, PLAYER, "second guess", now=later)
                seen.append(None)
            except AuthenticationFailed as exc:
                seen.append(exc)
        return real_check(password, encoded)

    monkeypatch.setattr(auth, "check_password", check_while_another_guess_arrives)
    with pytest.raises(AuthenticationFailed) as first:
        auth.sign_in(fresh_demo, PLAYER, "first guess", now=later)
    assert not isinstance(first.value, Throttled)
    assert isinstance(seen[0], Throttled), seen
    monkeypatch.setattr(auth, "check_password", real_check)
    # the delay grew: even the right password now waits longer than after five
    with pytest.raises(Throttled) as again:
        auth.sign_in(fresh_demo, PLAYER, PASSWORDS[PLAYER], now=later)
    assert again.value.retry_after > auth.delay_after(5)


def test_the_right_password_after_the_delay_clears_the_count(fresh_demo):
    from sqlalchemy import text

    from crm_tui.services import auth

    _five_wrong(fresh_demo, T0)
    later = T0 + timedelta(seconds=auth.delay_after(5) + 1)
    assert auth.sign_in(fresh_demo, PLAYER, PASSWORDS[PLAYER], now=later).role == "team player"
    with fresh_demo.connect() as conn:
        failed, last = conn.execute(
            text("SELECT failed_logins, last_failed_at FROM member WHERE email = :e"), {"e": PLAYER}
        ).one()
    assert (failed, last) == (0, None)
    # and five free attempts again
    _five_wrong(fresh_demo, later)


def test_a_wrong_password_after_the_delay_counts_once(fresh_demo):
    from sqlalchemy import text

    from crm_tui.services import auth
    from crm_tui.services.errors import AuthenticationFailed

    _five_wrong(fresh_demo, T0)
    later = T0 + timedelta(seconds=auth.delay_after(5) + 1)
    with pytest.raises(AuthenticationFailed):
        auth.sign_in(fresh_demo, PLAYER, "guess", now=later)
    with fresh_demo.connect() as conn:
        failed = conn.execute(text("SELECT failed_logins FROM member WHERE email = :e"), {"e": PLAYER}).scalar_one()
    assert failed == 6
