"""Exports that the next program imports (vCard REV, Google and Outlook CSV, byte-order
marks, template file names)."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone

import pytest
import vobject
from sqlalchemy import text

from conftest import OWNER, sign_in


def rows(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def _utc(value) -> datetime:
    value = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _stamp(value) -> str:
    return _utc(value).strftime("%Y%m%dT%H%M%SZ")


# --- vCard REV -----------------------------------------------------------------------------------


@pytest.fixture
def revised(demo_engine):
    """The demo account with one contact whose latest history entry is newer than the
    contact, one whose only entry is older, and one without history; and every contact's
    expected REV."""
    from crm_tui import db
    from crm_tui.models import HistoryEntry

    who = sign_in(demo_engine, OWNER)
    ids = [i for (i,) in rows(demo_engine, "SELECT id FROM contact WHERE account_id = :a ORDER BY id",
                              a=who.account_id)]
    newer, older, none = ids[3], ids[4], ids[5]
    with db.write_session(demo_engine) as s:
        s.execute(HistoryEntry.__table__.delete().where(HistoryEntry.contact_id.in_([older, none])))
        s.add(HistoryEntry(account_id=who.account_id, contact_id=newer, member_id=who.member_id, kind="call",
                           at=datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc), summary="later"))
        s.add(HistoryEntry(account_id=who.account_id, contact_id=older, member_id=who.member_id, kind="note",
                           at=datetime(1999, 1, 2, 3, 4, 5, tzinfo=timezone.utc), summary="before"))
    created = dict(rows(demo_engine, "SELECT id, created_at FROM contact WHERE account_id = :a", a=who.account_id))
    latest = dict(rows(demo_engine, "SELECT contact_id, max(at) FROM history_entry WHERE account_id = :a "
                                    "AND contact_id IS NOT NULL GROUP BY contact_id", a=who.account_id))
    expected = {cid: _stamp(max([_utc(created[cid]), *([_utc(latest[cid])] if cid in latest else [])]))
                for cid in ids}
    assert expected[newer] == "20310506T070809Z"
    assert expected[older] == _stamp(created[older]) and none not in latest
    # the demo's own history is newer than its contacts for some of them: not only the added one
    assert sum(expected[c] != _stamp(created[c]) for c in ids) > 1
    return demo_engine, who, ids, expected


def _revs(vcf_text: str) -> dict[int, str]:
    return {int(c.uid.value.split("-")[1]): c.rev.value for c in vobject.readComponents(vcf_text)}


@pytest.mark.parametrize("fast", [True, False], ids=["sqlite-fast-path", "portable-path"])
def test_rev_in_the_archive_is_the_contacts_last_change(revised, monkeypatch, fast):
    from crm_tui.services import archive, export

    engine, who, ids, expected = revised
    monkeypatch.setattr(archive, "_FAST_SQLITE", fast)
    buf = io.BytesIO()
    with engine.connect() as conn, conn.begin():
        export.write_export_archive(conn, who.account_id, buf)
    assert _revs(zipfile.ZipFile(buf).read("contacts.vcf").decode("utf-8")) == expected


def test_rev_in_a_group_actions_vcard_is_the_contacts_last_change(revised, tmp_path):
    from crm_tui.services import export

    engine, who, ids, expected = revised
    result = export.export_contacts(engine, who, ids[2:7], "vcf", out_dir=tmp_path)
    assert _revs(result.path.read_text("utf-8")) == {i: expected[i] for i in ids[2:7]}


# --- CSV for spreadsheets: a byte-order mark ----------------------------------------------------------


def _rename_a_contact(engine, who, first="Zoë", last="日本語") -> int:
    from crm_tui import db
    from crm_tui.models import Contact

    (cid,) = rows(engine, "SELECT min(id) FROM contact WHERE account_id = :a", a=who.account_id)[0]
    with db.write_session(engine) as s:
        c = s.get(Contact, cid)
        c.first_name, c.last_name = first, last
    return cid


def test_the_archives_csv_files_start_with_a_byte_order_mark_and_its_readme_says_why(demo_engine, tmp_path):
    from crm_tui.services import export

    who = sign_in(demo_engine, OWNER)
    _rename_a_contact(demo_engine, who)
    result = export.export_account(demo_engine, who, out_dir=tmp_path)
    zf = zipfile.ZipFile(result.path)
    csvs = [n for n in zf.namelist() if n.endswith(".csv")]
    assert {"contacts.csv", "history.csv", "reports/summary.csv"} <= set(csvs)
    for name in csvs:
        assert zf.read(name).startswith("\ufeff".encode("utf-8")), name
    # a spreadsheet program honouring the mark reads the text as UTF-8
    assert "Zoë,日本語" in zf.read("contacts.csv").decode("utf-8-sig")
    readme = zf.read("README.txt").decode("utf-8")
    assert "apostrophe" in readme and "formula" in readme and "removes exactly that one apostrophe" in readme
    assert "byte-order mark" in readme


def test_the_group_actions_csv_starts_with_a_byte_order_mark(demo_engine, tmp_path):
    import csv

    from crm_tui.services import export

    who = sign_in(demo_engine, OWNER)
    cid = _rename_a_contact(demo_engine, who)
    result = export.export_contacts(demo_engine, who, [cid], "csv", out_dir=tmp_path)
    raw = result.path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,")
    [row] = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert (row["id"], row["first_name"], row["last_name"]) == (str(cid), "Zoë", "日本語")
