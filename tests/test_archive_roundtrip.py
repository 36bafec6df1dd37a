"""Export → restore → export gives the same data members, for accounts full of awkward text."""

from __future__ import annotations

import io
import itertools
import json
import zipfile
from datetime import timezone

import pytest
from conftest import OWNER, sign_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, text

DATA_MEMBERS = (
    "team.json",
    "contacts.csv",
    "email_templates.json",
    "autoresponders.json",
    "appointments.csv",
    "todos.csv",
    "history.csv",
    "messages.csv",
    "invoices.csv",
)

# any Unicode a UTF-8 file can hold (no lone surrogates) and a database can store (no NUL: the
# services refuse it, see test_nul.py), weighted towards trouble
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_awkward = st.sampled_from(
    [
        "",
        "a,b",
        'say "hi"',
        "semi;colon",
        "line\nbreak",
        "cr\rlf\r\n",
        "\r\n",
        "tab\there",
        "🎉👩‍👩‍👧",
        "Zoë Müller",
        "=1+2",
        "+1 (512) 555-0100",
        "-5",
        "@SUM(A1)",
        "\t=cmd",
        "\r=cmd",
        "'quoted",
        "''twice",
        "'",
        "=",
        " =x",
        "\\back\\slash",
        "日本語",
        "NULL",
        "null",
        "x" * 2000,
        "é" * 2000,
        "🎉" * 2000,
    ]
)
TEXT = st.one_of(
    _awkward,
    st.text(_chars, max_size=40),
    st.builds(lambda p, t: p + t, st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'"]), st.text(_chars, max_size=20)),
)
WHEN = st.datetimes(timezones=st.just(timezone.utc))
DAY = st.dates()
_serial = itertools.count(1)


@st.composite
def accounts(draw):
    contacts = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "first_name": TEXT,
                    "last_name": TEXT,
                    "company": TEXT,
                    "email": TEXT,
                    "email2": TEXT,
                    "phone1": TEXT,
                    "phone1_text_ok": st.booleans(),
                    "phone2": TEXT,
                    "phone3": TEXT,
                    "phone4": TEXT,
                    "street": TEXT,
                    "city": TEXT,
                    "state": TEXT,
                    "postal_code": TEXT,
                    "country": TEXT,
                    "birthday": st.none() | DAY,
                    "category1": TEXT,
                    "category2": TEXT,
                    "notes": TEXT,
                    "created_at": WHEN,
                }
            ),
            max_size=6,
        )
    )
    return {
        "name": draw(TEXT),
        "card_last4": draw(TEXT),
        "members": draw(st.lists(st.tuples(TEXT, st.sampled_from(["administrator", "team player"])), max_size=2)),
        "contacts": contacts,
        "appointments": draw(st.lists(st.tuples(TEXT, WHEN, WHEN, TEXT), max_size=4)),
        "todos": draw(
            st.lists(st.tuples(TEXT, TEXT, st.sampled_from([1, 3, 5]), st.none() | DAY, st.none() | WHEN), max_size=4)
        ),
        "templates": draw(st.lists(st.tuples(TEXT, TEXT, TEXT), max_size=3)),
        "history": draw(st.lists(st.tuples(st.sampled_from(["call", "note", "email"]), WHEN, TEXT), max_size=3)),
        "messages": draw(st.lists(st.tuples(st.sampled_from(["in", "out"]), TEXT, TEXT, WHEN), max_size=3)),
        "invoices": draw(st.lists(st.tuples(TEXT, DAY, TEXT, st.integers(-(10**12), 10**12)), max_size=2)),
        "messages_service": draw(st.none() | st.tuples(TEXT, WHEN)),
    }


def build(engine, spec) -> int:
    """Insert the generated account; returns its id."""
    from crm_tui import db
    from crm_tui.models import (
        Account,
        Appointment,
        Autoresponder,
        AutoresponderStep,
        Contact,
        EmailTemplate,
        HistoryEntry,
        Invoice,
        Member,
        MessagesService,
        TextMessage,
        Todo,
    )
    from crm_tui.services import billing

    n = next(_serial)
    with db.write_session(engine) as s:
        conn = s.connection()
        now = spec["contacts"][0]["created_at"] if spec["contacts"] else None
        from datetime import datetime

        now = now or datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
        acc = conn.execute(
            insert(Account.__table__).values(
                name=spec["name"],
                slug=f"acct-{n}",
                plan_id=billing.plan_id_for(conn, "starter"),
                status="active",
                created_at=now,
                card_last4=spec["card_last4"],
            )
        ).inserted_primary_key[0]
        mids = []
        for k, (name, role) in enumerate([("Owner " + spec["name"], "owner"), *spec["members"]]):
            mids.append(
                conn.execute(
                    insert(Member.__table__).values(
                        account_id=acc,
                        email=f"m{n}-{k}@example.test",
                        name=name,
                        role=role,
                        password_hash="scrypt$x",
                        created_at=now,
                    )
                ).inserted_primary_key[0]
            )
        cids = [
            conn.execute(
                insert(Contact.__table__).values(account_id=acc, owner_id=mids[i % len(mids)], **c)
            ).inserted_primary_key[0]
            for i, c in enumerate(spec["contacts"])
        ]

        def contact(i):
            return cids[i % len(cids)] if cids and i % 3 else None

        for i, (desc, start, end, colour) in enumerate(spec["appointments"]):
            conn.execute(
                insert(Appointment.__table__).values(
                    account_id=acc,
                    owner_id=mids[0],
                    contact_id=contact(i),
                    description=desc,
                    start=start,
                    end=end,
                    colour=colour,
                )
            )
        for i, (summary, details, prio, due, done) in enumerate(spec["todos"]):
            conn.execute(
                insert(Todo.__table__).values(
                    account_id=acc,
                    assignee_id=mids[-1],
                    contact_id=contact(i),
                    summary=summary,
                    details=details,
                    priority=prio,
                    due=due,
                    category="Email",
                    status="closed" if done else "open",
                    completed_at=done,
                )
            )
        tids = [
            conn.execute(
                insert(EmailTemplate.__table__).values(account_id=acc, name=a, subject=b, body=c)
            ).inserted_primary_key[0]
            for a, b, c in spec["templates"]
        ]
        if tids:
            rid = conn.execute(
                insert(Autoresponder.__table__).values(account_id=acc, name=spec["name"], active=False)
            ).inserted_primary_key[0]
            for pos, tid in enumerate(tids):
                conn.execute(
                    insert(AutoresponderStep.__table__).values(
                        account_id=acc, autoresponder_id=rid, position=pos + 1, delay=pos * 7, template_id=tid
                    )
                )
        for i, (kind, at, summary) in enumerate(spec["history"]):
            conn.execute(
                insert(HistoryEntry.__table__).values(
                    account_id=acc, contact_id=contact(i), member_id=mids[0], kind=kind, at=at, summary=summary
                )
            )
        for i, (direction, phone, body, sent) in enumerate(spec["messages"]):
            conn.execute(
                insert(TextMessage.__table__).values(
                    account_id=acc, contact_id=contact(i), direction=direction, phone=phone, body=body, sent_at=sent
                )
            )
        for number, issued, desc, amount in spec["invoices"]:
            conn.execute(
                insert(Invoice.__table__).values(
                    account_id=acc, number=number, issued_on=issued, description=desc, amount_cents=amount
                )
            )
        if spec["messages_service"]:
            phone, since = spec["messages_service"]
            conn.execute(
                insert(MessagesService.__table__).values(account_id=acc, phone_number=phone, activated_at=since)
            )
    return acc


def export_bytes(engine, account_id) -> bytes:
    from crm_tui.services import export

    buf = io.BytesIO()
    with engine.connect() as conn, conn.begin():
        export.write_export_archive(conn, account_id, buf)
    return buf.getvalue()


def dump(engine, account_id) -> dict:
    from crm_tui.models import ACCOUNT_TABLES

    out = {}
    with engine.connect() as conn:
        for model in ACCOUNT_TABLES:
            cols = [c.name for c in model.__table__.columns if c.name not in ("password_hash", "failed_logins")]
            q = (
                f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in cols)} FROM {model.__tablename__} "
                "WHERE account_id = :a ORDER BY id"
            )
            out[model.__tablename__] = [tuple(r) for r in conn.execute(text(q), {"a": account_id})]
        out["account"] = [
            tuple(r) for r in conn.execute(text("SELECT * FROM account WHERE id = :a"), {"a": account_id})
        ]
    return out


@pytest.fixture
def two_databases(tmp_path):
    from crm_tui import db

    return db.get_engine(f"sqlite:///{tmp_path / 'source.db'}"), db.get_engine(f"sqlite:///{tmp_path / 'target.db'}")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=accounts())
@pytest.mark.parametrize("fast", [True, False], ids=["sqlite-fast-path", "portable-path"])
def test_export_restore_export_is_lossless(two_databases, monkeypatch, fast, spec):
    """On the SQLite fast path (raw tuples, stored text) and on the portable typed path."""
    from crm_tui import db
    from crm_tui.models import Account
    from crm_tui.services import archive
    from crm_tui.services.auth import UNUSABLE_PASSWORD

    monkeypatch.setitem(archive.DATABASES, "sqlite", archive.SQLiteDatabase() if fast else archive.PORTABLE)
    source, target = two_databases
    account_id = build(source, spec)
    try:
        first = zipfile.ZipFile(io.BytesIO(export_bytes(source, account_id)))
        archive.verify_archive(first)
        with db.write_session(target) as s:
            restored_id, counts = archive.import_archive(s.connection(), first, unusable_password=UNUSABLE_PASSWORD)
        assert restored_id == account_id
        assert dump(target, account_id) == dump(source, account_id)
        second = zipfile.ZipFile(io.BytesIO(export_bytes(target, account_id)))
        for name in DATA_MEMBERS:
            assert second.read(name) == first.read(name), name
        m1, m2 = (json.loads(z.read("manifest.json")) for z in (first, second))
        for key in ("account", "counts", "format_version", "formula_escaped"):
            assert m1[key] == m2[key]
        assert m1["counts"] == counts
        # every CSV member starts with a byte-order mark, which the manifest's checksum covers
        import hashlib

        for name in [n for n in first.namelist() if n.endswith(".csv")]:
            raw = first.read(name)
            assert raw.startswith(b"\xef\xbb\xbf") and not raw[3:].startswith(b"\xef\xbb\xbf"), name
            assert m1["members"][name]["sha256"] == hashlib.sha256(raw).hexdigest()
            assert m1["members"][name]["bytes"] == len(raw)
        # formula neutralisation: no contacts.csv cell opens as a formula in a spreadsheet
        import csv

        for row in csv.reader(io.StringIO(first.read("contacts.csv").decode("utf-8-sig"), newline="")):
            assert all(not cell or cell[0] not in "=+-@\t\r" for cell in row)
    finally:
        for engine in (source, target):
            with db.write_session(engine) as s:
                s.execute(delete(Account).where(Account.id == account_id))


def test_restore_from_an_export_file(archive_database, demo_engine, other_db_url, tmp_path):
    """A user's export restores into another database; team members need new passwords."""
    from crm_tui import db
    from crm_tui.services import auth, export
    from crm_tui.services.errors import ArchiveError, AuthenticationFailed

    who = sign_in(demo_engine, OWNER)
    result = export.export_account(demo_engine, who, out_dir=tmp_path)
    with pytest.raises(ArchiveError, match="exists already"):
        export.restore_from_archive(demo_engine, result.path)
    fresh = db.get_engine(other_db_url)
    account_id, counts = export.restore_from_archive(fresh, result.path)
    assert counts == result.counts
    before, after = dump(demo_engine, account_id), dump(fresh, account_id)
    assert after == before
    with pytest.raises(AuthenticationFailed):
        auth.sign_in(fresh, OWNER, "demo-owner")
    again = export.export_account(fresh, auth.as_member(fresh, OWNER), out_dir=tmp_path)
    z1, z2 = zipfile.ZipFile(result.path), zipfile.ZipFile(again.path)
    assert all(z1.read(n) == z2.read(n) for n in DATA_MEMBERS)
    with pytest.raises(ArchiveError, match="no archive"):
        export.restore_from_archive(fresh, tmp_path / "nothing.zip")


def _without_byte_order_marks(data: bytes) -> bytes:
    """The archive as crm-tui wrote it before CSV members had a byte-order mark."""
    import hashlib

    src = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(src.read("manifest.json"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            raw = src.read(name)
            if name.endswith(".csv"):
                assert raw.startswith(b"\xef\xbb\xbf")
                raw = raw[3:]
                manifest["members"][name].update(sha256=hashlib.sha256(raw).hexdigest(), bytes=len(raw))
            if name != "manifest.json":
                dst.writestr(name, raw)
        dst.writestr("manifest.json", json.dumps(manifest))
    return buf.getvalue()


@pytest.mark.parametrize("fast", [True, False], ids=["sqlite-fast-path", "portable-path"])
@pytest.mark.parametrize("marks", [True, False], ids=["with-byte-order-marks", "older-archive-without"])
def test_an_export_restores_exactly_with_or_without_byte_order_marks(
    demo_engine, other_db_url, tmp_path, monkeypatch, fast, marks
):
    from crm_tui import db
    from crm_tui.services import archive
    from crm_tui.services.auth import UNUSABLE_PASSWORD

    who = sign_in(demo_engine, OWNER)
    data = export_bytes(demo_engine, who.account_id)
    if not marks:
        data = _without_byte_order_marks(data)
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.read("contacts.csv").startswith(b"\xef\xbb\xbf") == marks
    archive.verify_archive(zf)  # counts every CSV's rows: the mark is not a row
    monkeypatch.setitem(archive.DATABASES, "sqlite", archive.SQLiteDatabase() if fast else archive.PORTABLE)
    target = db.get_engine(other_db_url)
    with db.write_session(target) as s:
        account_id, _counts = archive.import_archive(s.connection(), zf, unusable_password=UNUSABLE_PASSWORD)
    assert dump(target, account_id) == dump(demo_engine, who.account_id)
