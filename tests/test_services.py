"""Services: sign-in throttling, impact, billing, Messages, atomic closing, survey, audit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import ADMIN, OTHER_OWNER, OWNER, PASSWORDS, PLAYER, dump_database, pin_clock
from sqlalchemy import inspect, text

UTC = timezone.utc
T0 = datetime(2027, 6, 1, 12, 0, 0, tzinfo=UTC)


def count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


# --- sign-in and the throttle ----------------------------------------------------------------------


def test_sign_in_right_and_wrong(fresh_demo):
    from crm_tui.services import auth
    from crm_tui.services.errors import AuthenticationFailed, Throttled

    who = auth.sign_in(fresh_demo, " Dana@ACME-realty.example ", PASSWORDS[OWNER], now=T0)
    assert (who.email, who.role, who.account_name, who.initials) == (OWNER, "owner", "Acme Realty", "DW")
    with pytest.raises(AuthenticationFailed) as wrong:
        auth.sign_in(fresh_demo, OWNER, "demo-owner ", now=T0)
    with pytest.raises(AuthenticationFailed) as unknown:
        auth.sign_in(fresh_demo, "nobody@example.com", "x", now=T0)
    # the same words whether the email exists or not
    assert str(wrong.value) == str(unknown.value) == "wrong email or password"
    assert not isinstance(wrong.value, Throttled)


def test_five_wrong_passwords_then_a_growing_delay_reset_on_success(fresh_demo):
    from crm_tui.services import auth
    from crm_tui.services.errors import AuthenticationFailed, Throttled

    e, now = fresh_demo, T0
    for _ in range(5):  # five free attempts
        with pytest.raises(AuthenticationFailed) as exc:
            auth.sign_in(e, PLAYER, "guess", now=now)
        assert not isinstance(exc.value, Throttled)
        now += timedelta(milliseconds=10)
    waits = []
    for _ in range(4):
        # straight away: throttled, and even the right password is not checked
        with pytest.raises(Throttled) as throttled:
            auth.sign_in(e, PLAYER, PASSWORDS[PLAYER], now=now)
        assert throttled.value.retry_after > 0
        assert "try again in" in str(throttled.value)
        waits.append(throttled.value.retry_after)
        # just before the delay is over: still throttled
        with pytest.raises(Throttled):
            auth.sign_in(e, PLAYER, "guess", now=now + timedelta(seconds=throttled.value.retry_after - 0.5))
        now += timedelta(seconds=throttled.value.retry_after + 0.01)
        with pytest.raises(AuthenticationFailed) as again:  # allowed to try, and wrong again
            auth.sign_in(e, PLAYER, "guess", now=now)
        assert not isinstance(again.value, Throttled)
    assert all(b > a for a, b in zip(waits, waits[1:], strict=False)), waits  # it grows
    # another user is not affected
    auth.sign_in(e, ADMIN, PASSWORDS[ADMIN], now=now)
    # after the delay the right password works and resets the count
    with pytest.raises(Throttled) as throttled:
        auth.sign_in(e, PLAYER, PASSWORDS[PLAYER], now=now)
    now += timedelta(seconds=throttled.value.retry_after + 0.01)
    assert auth.sign_in(e, PLAYER, PASSWORDS[PLAYER], now=now).role == "team player"
    assert count(e, "SELECT failed_logins FROM member WHERE email = :e", e=PLAYER) == 0
    for _ in range(5):
        with pytest.raises(AuthenticationFailed) as exc:
            auth.sign_in(e, PLAYER, "guess", now=now)
        assert not isinstance(exc.value, Throttled)
    with pytest.raises(Throttled):
        auth.sign_in(e, PLAYER, PASSWORDS[PLAYER], now=now)


def test_the_delay_is_capped(fresh_demo):
    from crm_tui.services import auth

    assert [auth.delay_after(n) for n in range(5)] == [0, 0, 0, 0, 0]
    assert auth.delay_after(5) > 0
    assert auth.delay_after(100) == auth.delay_after(1000) == auth.MAX_DELAY_S


def test_reauthentication_counts_towards_the_same_throttle(fresh_demo):
    from crm_tui.services import auth, closing
    from crm_tui.services.errors import AuthenticationFailed, Throttled

    who = auth.as_member(fresh_demo, OWNER)
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            auth.reauthenticate(fresh_demo, who.member_id, "guess", now=T0)
    before = dump_database(fresh_demo)
    with pytest.raises(Throttled):
        closing.close_account(fresh_demo, who, "Acme Realty", PASSWORDS[OWNER])
    assert dump_database(fresh_demo) == before


# --- impact, billing, Messages ----------------------------------------------------------------------


def test_impact_counts_every_kind(fresh_demo):
    from crm_tui.services import accounts, auth

    who = auth.as_member(fresh_demo, OWNER)
    impact = accounts.impact(fresh_demo, who)
    tables = {
        "contacts": "contact",
        "appointments": "appointment",
        "todos": "todo",
        "email_templates": "email_template",
        "autoresponders": "autoresponder",
        "history": "history_entry",
        "text_messages": "text_message",
        "team_members": "member",
        "invoices": "invoice",
    }
    assert set(impact.counts) == set(tables)
    for kind, table in tables.items():
        assert impact.counts[kind] == count(
            fresh_demo, f"SELECT count(*) FROM {table} WHERE account_id = :a", a=who.account_id
        ), kind
    assert impact.counts["contacts"] == 60
    assert [(m.email, m.role) for m in impact.members_losing_access] == [
        (ADMIN, "administrator"),
        (PLAYER, "team player"),
    ]
    assert impact.messages_active and impact.messages_phone
    payload = impact.as_json()
    assert payload["support"] == "cases@allclients.com"


def test_billing_summary_and_messages_cancel_removes_the_add_on(fresh_demo):
    from crm_tui.services import auth, billing, messages
    from crm_tui.services.errors import AuthenticationFailed, InvalidInput

    who = auth.as_member(fresh_demo, OWNER)
    b = billing.summary(fresh_demo, who)
    assert (b.plan_code, b.seats, b.messages_active, b.messages_fee_cents) == ("professional", 2, True, 2500)
    assert b.monthly_total_cents == 5900 + 2 * 1500 + 2500
    assert len(b.invoices) == 6 and b.card.endswith(")")
    assert b.next_billing > datetime.now(UTC).date() - timedelta(days=1)

    before = dump_database(fresh_demo)
    with pytest.raises(AuthenticationFailed):
        messages.cancel(fresh_demo, who, "wrong")
    after = dump_database(fresh_demo)
    after.pop("member"), before.pop("member")  # the failed attempt is counted, nothing else
    assert after == before

    result = messages.cancel(fresh_demo, who, PASSWORDS[OWNER])
    assert result.messages_deleted == 30 and result.fee_removed_cents == 2500
    assert "Twilio" in result.twilio_note and "separately" in result.twilio_note
    b2 = billing.summary(fresh_demo, who)
    assert (b2.messages_active, b2.messages_fee_cents) == (False, 0)
    assert b2.monthly_total_cents == b.monthly_total_cents - 2500
    st = messages.settings(fresh_demo, who)
    assert (st.status, st.sent, st.received, st.monthly_fee_cents) == ("cancelled", 0, 0, 0)
    with pytest.raises(InvalidInput):
        messages.cancel(fresh_demo, who, PASSWORDS[OWNER])
    # the other account's texts were never there; the audit log says what happened
    assert count(fresh_demo, "SELECT count(*) FROM audit_event WHERE action = 'messages.cancel'") == 1


def test_change_plan_rejects_unknown_codes(fresh_demo):
    from crm_tui.services import auth, billing
    from crm_tui.services.errors import InvalidInput

    who = auth.as_member(fresh_demo, OWNER)
    before = dump_database(fresh_demo)
    with pytest.raises(InvalidInput):
        billing.change_plan(fresh_demo, who, "platinum")
    assert dump_database(fresh_demo) == before
    assert billing.change_plan(fresh_demo, who, "starter") == "Starter"
    assert billing.summary(fresh_demo, who).plan_code == "starter"


# --- closing is all or nothing ---------------------------------------------------------------------


def test_close_refuses_wrong_name_and_wrong_password_changing_nothing(fresh_demo, isolated_dirs):
    from crm_tui import paths
    from crm_tui.services import auth, closing
    from crm_tui.services.errors import AuthenticationFailed, InvalidInput

    who = auth.as_member(fresh_demo, OWNER)
    before = dump_database(fresh_demo)
    with pytest.raises(InvalidInput):
        closing.close_account(fresh_demo, who, "ACME REALTY", PASSWORDS[OWNER])
    assert dump_database(fresh_demo) == before
    with pytest.raises(AuthenticationFailed):
        closing.close_account(fresh_demo, who, "Acme Realty", "wrong")
    after = dump_database(fresh_demo)
    after.pop("member"), before.pop("member")
    assert after == before
    backups = paths.backup_dir()
    assert not backups.exists() or not any(p.is_file() and p.name != "owner" for p in backups.rglob("*"))


@pytest.mark.parametrize("where", ["while writing the backup", "after the rows were deleted"])
def test_close_is_atomic_when_something_fails(fresh_demo, isolated_dirs, monkeypatch, where):
    from crm_tui import paths
    from crm_tui.services import audit, auth, closing

    class Boom(RuntimeError):
        pass

    if where == "while writing the backup":
        from crm_tui.services.archive import writer

        real = writer.write_data_members

        def failing(*args, **kwargs):
            real(*args, **kwargs)
            raise Boom("disk full")

        monkeypatch.setattr(writer, "write_data_members", failing)  # what the backup writer calls
    else:
        real_append = audit.append

        def failing_append(s, action, **kwargs):
            if action == "account.close":
                raise Boom("crash after the delete")
            return real_append(s, action, **kwargs)

        monkeypatch.setattr(audit, "append", failing_append)
    who = auth.as_member(fresh_demo, OWNER)
    before = dump_database(fresh_demo)
    with pytest.raises(Boom):
        closing.close_account(fresh_demo, who, "Acme Realty", PASSWORDS[OWNER])
    after = dump_database(fresh_demo)
    after.pop("setting", None), before.pop("setting", None)  # the backup folder's name
    assert after == before
    leftovers = [p for p in paths.backup_dir().rglob("*") if p.is_file() and p.name != "owner"]
    assert leftovers == []  # (a backup folder's "owner" file names the database it belongs to)
    monkeypatch.undo()
    # and it can be closed properly afterwards
    closing.close_account(fresh_demo, who, "Acme Realty", PASSWORDS[OWNER])


def test_a_pending_backup_from_a_crash_is_swept_and_a_finished_one_kept(fresh_demo, isolated_dirs):
    """A pending file nobody holds and this database has no row for is its own unfinished
    work: removed. A finished file is never removed by the sweep, row or no row."""
    from crm_tui import db
    from crm_tui.services import backups

    with db.write_session(fresh_demo) as s:
        folder = backups.database_folder(s.connection())
    stray = folder / ("0" * 32 + backups.SUFFIX + backups.PENDING)
    stray.write_bytes(b"half a backup")
    keyless = folder / ("1" * 32 + backups.SUFFIX)
    keyless.write_bytes(b"a finished backup this database has no row for")
    done = backups.sweep(fresh_demo)
    assert done == [f"removed unfinished {stray.name}"]
    assert not stray.exists() and keyless.exists()


def test_the_survey_keeps_no_account_link(fresh_demo):
    from crm_tui.services import survey
    from crm_tui.services.errors import InvalidInput

    with pytest.raises(InvalidInput):
        survey.submit(fresh_demo, "Because")
    with pytest.raises(InvalidInput):
        survey.submit(fresh_demo, "Other", "x" * (survey.MAX_COMMENT + 1))
    survey.submit(fresh_demo, "Too expensive", "  ", plan_code="professional", tenure_months=3, team_size=3)
    survey.submit(fresh_demo, "Too expensive", "prices", plan_code="starter")
    survey.submit(fresh_demo, "Other")
    rows = [(r.reason, r.responses, r.with_comment) for r in survey.summary(fresh_demo)]
    assert rows == [("Too expensive", 2, 1), ("Other", 1, 0)]
    with fresh_demo.connect() as conn:
        cols = [c["name"] for c in inspect(conn).get_columns("survey_response")]
        days = {r[0] for r in conn.exec_driver_sql("SELECT submitted_on FROM survey_response")}
    assert not any("account" in c or "email" in c or "member" in c for c in cols)
    assert all(str(d).endswith("-01") for d in days)  # only the month is kept


def test_the_audit_chain_verifies_and_detects_tampering(fresh_demo):
    from crm_tui import db
    from crm_tui.services import audit, auth, billing, team

    owner = auth.as_member(fresh_demo, OWNER)
    billing.change_plan(fresh_demo, owner, "enterprise")
    team.remove_member(fresh_demo, owner, auth.as_member(fresh_demo, PLAYER).member_id)
    with db.read_session(fresh_demo) as s:
        report = audit.verify(s)
    assert report.ok and report.events >= 4
    with fresh_demo.begin() as conn:
        victim = conn.exec_driver_sql("SELECT id FROM audit_event WHERE action = 'plan.change'").scalar()
        conn.exec_driver_sql(f"UPDATE audit_event SET details_json = '{{}}' WHERE id = {victim}")
    with db.read_session(fresh_demo) as s:
        report = audit.verify(s)
    assert not report.ok and report.first_bad_id == victim
    with fresh_demo.connect() as conn:
        details = [r[0] for r in conn.exec_driver_sql("SELECT details_json || actor FROM audit_event")]
    assert not any("@" in d for d in details)


def test_a_closed_accounts_owner_email_cannot_sign_in_to_the_other_account(fresh_demo):
    from crm_tui.services import auth, closing
    from crm_tui.services.errors import AuthenticationFailed

    closing.close_account(fresh_demo, auth.as_member(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    with pytest.raises(AuthenticationFailed):
        auth.sign_in(fresh_demo, OWNER, PASSWORDS[OWNER])
    assert auth.sign_in(fresh_demo, OTHER_OWNER, PASSWORDS[OTHER_OWNER]).role == "owner"


def _demo_rows(engine) -> dict:
    state = dump_database(engine)
    state.pop("audit_event")  # timestamps of the run
    state["member"] = [r[:5] + r[6:] for r in state["member"]]  # password hashes are salted
    return state


def test_demo_is_deterministic_and_its_bulk_path_stores_what_sqlalchemy_would(tmp_path, monkeypatch):
    """The demo's plain executemany path writes the very values SQLAlchemy's insert() writes."""
    from sqlalchemy import insert

    from crm_tui import db
    from crm_tui.services import demo

    pin_clock(monkeypatch, "2027-03-15T10:00:00+00:00")
    fast = db.get_engine(f"sqlite:///{tmp_path / 'fast.sqlite3'}")
    demo.create(fast, contacts=120, seed=5)
    again = db.get_engine(f"sqlite:///{tmp_path / 'again.sqlite3'}")
    demo.create(again, contacts=120, seed=5)

    def through_sqlalchemy(conn, model, rows):
        n = 0
        for batch in demo._batched(rows):
            conn.execute(insert(model.__table__), batch)
            n += len(batch)
        return n

    monkeypatch.setattr(demo, "_insert_plain", through_sqlalchemy)
    slow = db.get_engine(f"sqlite:///{tmp_path / 'slow.sqlite3'}")
    demo.create(slow, contacts=120, seed=5)
    assert _demo_rows(fast) == _demo_rows(again) == _demo_rows(slow)
    with fast.connect() as conn:
        types = conn.exec_driver_sql(
            "SELECT typeof(created_at), typeof(birthday), typeof(phone1_text_ok) FROM contact "
            "WHERE birthday IS NOT NULL LIMIT 1"
        ).one()
    assert tuple(types) == ("text", "text", "integer")
