"""'Download all my data' and Contacts → Group Actions export."""

from __future__ import annotations

import csv
import io
import json
import stat
import zipfile
from pathlib import Path

import icalendar
import pytest
import vobject
from conftest import ADMIN, OTHER_OWNER, OWNER, PASSWORDS, PLAYER, pin_clock, sign_in
from sqlalchemy import text


def rows(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def member_csv(zf: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8-sig"), newline="")))


@pytest.fixture
def exported(archive_database, demo_engine, tmp_path):
    from crm_tui.services import export

    who = sign_in(demo_engine, OWNER)
    seen = []
    result = export.export_account(demo_engine, who, out_dir=tmp_path, progress=lambda d, t: seen.append((d, t)))
    return demo_engine, who, result, zipfile.ZipFile(result.path), seen


def test_file_name_mode_checksum_and_default_folder(demo_engine, tmp_path, monkeypatch):
    import hashlib

    from crm_tui import paths
    from crm_tui.services import clock, export

    pin_clock(monkeypatch, "2026-03-04T10:00:00+00:00")
    who = sign_in(demo_engine, OWNER)
    first = export.export_account(demo_engine, who)
    assert first.path == paths.downloads_dir() / "acme-realty-2026-03-04.zip"
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    assert first.size == first.path.stat().st_size
    assert first.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()
    second = export.export_account(demo_engine, who)
    third = export.export_account(demo_engine, who)
    assert [second.path.name, third.path.name] == ["acme-realty-2026-03-04-2.zip", "acme-realty-2026-03-04-3.zip"]
    assert first.path.read_bytes()[:2] == b"PK"  # the first one was not overwritten
    leftovers = [p.name for p in paths.downloads_dir().iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert clock.now().year == 2026


def test_slug_is_filtered(demo_engine, tmp_path):
    from crm_tui import db
    from crm_tui.models import Account
    from crm_tui.services import export

    who = sign_in(demo_engine, OWNER)
    with db.write_session(demo_engine) as s:
        s.get(Account, who.account_id).slug = "../../Évil $(rm -rf)\x1b[31m/name"
    result = export.export_account(demo_engine, who, out_dir=tmp_path)
    assert result.path.parent == tmp_path
    assert result.path.name.startswith("evil-rm-rf-31m-name-")
    assert export.safe_name("", "account") == "account"


def test_members_and_manifest(exported):
    engine, who, result, zf, _ = exported
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["kind"] == "export"
    names = set(zf.namelist())
    for name in (
        "team.json",
        "contacts.csv",
        "email_templates.json",
        "autoresponders.json",
        "appointments.csv",
        "todos.csv",
        "history.csv",
        "messages.csv",
        "invoices.csv",
        "contacts.vcf",
        "appointments.ics",
        "todos.ics",
        "reports/summary.csv",
        "README.txt",
        "manifest.json",
    ):
        assert name in names
    templates = [n for n in names if n.startswith("email_templates/")]
    assert len(templates) == 8 and "email_templates/new-listing-alert.html" in names
    assert set(manifest["members"]) == names - {"manifest.json"}
    assert manifest["counts"]["contacts"] == 60
    assert result.counts == manifest["counts"]
    team = json.loads(zf.read("team.json"))
    assert len(team) == 3 and all("password_hash" not in m for m in team)
    assert b"scrypt$" not in result.path.read_bytes()
    readme = zf.read("README.txt").decode()
    assert "contacts.vcf" in readme and "Excel" in readme and "Acme Realty" in readme


def test_contacts_csv_matches_the_database_with_formulas_neutralised(exported):
    engine, who, _result, zf, _ = exported
    db_rows = rows(
        engine, "SELECT id, first_name, phone1, email FROM contact WHERE account_id = :a ORDER BY id", a=who.account_id
    )
    got = member_csv(zf, "contacts.csv")
    assert len(got) == len(db_rows) == 60
    for row, (cid, first, phone, email) in zip(got, db_rows, strict=False):
        assert row["id"] == str(cid) and row["first_name"] == first and row["email"] == email
        assert phone.startswith("+") and row["phone1"] == "'" + phone


def test_every_vcard_and_calendar_parses(exported):
    engine, who, _result, zf, _ = exported
    a = who.account_id
    cards = list(vobject.readComponents(zf.read("contacts.vcf").decode("utf-8")))
    contacts = rows(
        engine, "SELECT first_name, last_name, email, phone1 FROM contact WHERE account_id = :a ORDER BY id", a=a
    )
    assert len(cards) == len(contacts)
    for card, (first, last, email, phone) in zip(cards, contacts, strict=False):
        assert card.n.value.given == first and card.n.value.family == last
        assert card.email.value == email
        assert card.tel.value == phone
    events = icalendar.Calendar.from_ical(zf.read("appointments.ics")).walk("VEVENT")
    appts = rows(engine, "SELECT description FROM appointment WHERE account_id = :a ORDER BY id", a=a)
    assert [str(e["SUMMARY"]) for e in events] == [d for (d,) in appts]
    assert len({str(e["UID"]) for e in events}) == len(appts)
    todos = icalendar.Calendar.from_ical(zf.read("todos.ics")).walk("VTODO")
    db_todos = rows(engine, "SELECT summary, status FROM todo WHERE account_id = :a ORDER BY id", a=a)
    assert [(str(t["SUMMARY"]), str(t["STATUS"])) for t in todos] == [
        (s, "COMPLETED" if st == "closed" else "NEEDS-ACTION") for s, st in db_todos
    ]


def test_summary_report_counts_per_month(exported):
    engine, who, _result, zf, _ = exported
    report = member_csv(zf, "reports/summary.csv")
    assert list(report[0]) == ["month", "contacts_added", "appointments", "todos_completed", "messages_sent"]
    assert sum(int(r["contacts_added"]) for r in report) == 60
    assert (
        sum(int(r["appointments"]) for r in report)
        == rows(engine, "SELECT count(*) FROM appointment WHERE account_id = :a", a=who.account_id)[0][0]
    )
    assert (
        sum(int(r["todos_completed"]) for r in report)
        == rows(engine, "SELECT count(*) FROM todo WHERE account_id = :a AND status = 'closed'", a=who.account_id)[0][0]
    )
    assert (
        sum(int(r["messages_sent"]) for r in report)
        == rows(
            engine, "SELECT count(*) FROM text_message WHERE account_id = :a AND direction = 'out'", a=who.account_id
        )[0][0]
    )
    assert [r["month"] for r in report] == sorted(r["month"] for r in report)


def test_progress_reaches_the_total(exported):
    *_, seen = exported
    assert seen, "no progress was reported"
    dones = [d for d, _t in seen]
    assert dones == sorted(dones)
    assert seen[-1][0] == seen[-1][1] and len({t for _d, t in seen}) == 1


def test_audit_event_has_counts_and_no_personal_data(exported):
    engine, who, result, _zf, _ = exported
    (details,) = rows(engine, "SELECT details_json FROM audit_event WHERE action = 'data.export'")[0]
    assert json.loads(details)["counts"] == result.counts
    assert "@" not in details and "Acme" not in details


def test_the_archive_is_one_snapshot_while_a_member_writes(demo_engine, tmp_path, monkeypatch):
    """A member adds a contact and a history entry for it once the export has written its
    contacts: neither is in the archive (the export reads one snapshot on both backends; a
    history row whose contact is missing would make the archive contradict itself)."""
    from sqlalchemy import insert, select

    from crm_tui.models import Contact, HistoryEntry
    from crm_tui.services import export
    from crm_tui.services.archive import writer

    who = sign_in(demo_engine, OWNER)
    c, hst = Contact.__table__, HistoryEntry.__table__
    added = []

    def add_contact_and_history() -> None:
        with demo_engine.begin() as conn:
            mine = c.c.account_id == who.account_id
            row = dict(conn.execute(select(c).where(mine).order_by(c.c.id).limit(1)).mappings().one())
            row.pop("id")
            row.update(first_name="Latecomer", last_name="Snapshotson", email="latecomer@example.com")
            new_id = conn.execute(insert(c).values(**row).returning(c.c.id)).scalar_one()
            entry = dict(conn.execute(select(hst).where(hst.c.account_id == who.account_id).limit(1)).mappings().one())
            entry.pop("id")
            entry.update(contact_id=new_id, summary="Called the latecomer")
            conn.execute(insert(hst).values(**entry))
        added.append(new_id)

    for method in ("write_csv_blocks", "write_csv_batches"):
        real = getattr(writer.ArchiveWriter, method)

        def wrapped(self, name, *args, _real=real, **kwargs):
            n = _real(self, name, *args, **kwargs)
            if name == "contacts.csv":
                add_contact_and_history()
            return n

        monkeypatch.setattr(writer.ArchiveWriter, method, wrapped)
    result = export.export_account(demo_engine, who, out_dir=tmp_path)
    assert len(added) == 1
    zf = zipfile.ZipFile(result.path)
    contacts = {int(r["id"]) for r in member_csv(zf, "contacts.csv")}
    history = member_csv(zf, "history.csv")
    assert added[0] not in contacts
    assert {int(r["contact_id"]) for r in history if r["contact_id"]} <= contacts
    assert not [r for r in history if r["summary"] == "Called the latecomer"]
    assert len(history) == result.counts["history"]
    assert b"Snapshotson" not in b"".join(zf.read(n) for n in zf.namelist())


def test_administrator_may_export_team_player_may_not(demo_engine, tmp_path):
    from crm_tui.services import export
    from crm_tui.services.errors import PermissionDenied

    tmp_path = tmp_path / "out"
    tmp_path.mkdir()

    assert export.export_account(demo_engine, sign_in(demo_engine, ADMIN), out_dir=tmp_path).counts["contacts"] == 60
    with pytest.raises(PermissionDenied):
        export.export_contacts(demo_engine, sign_in(demo_engine, PLAYER), None, "csv", out_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 1


def test_a_damaged_export_fails_verification(exported, tmp_path):
    from crm_tui.services import archive
    from crm_tui.services.errors import ArchiveError

    _engine, _who, result, zf, _ = exported
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as out:
        for name in zf.namelist():
            data = zf.read(name)
            if name == "contacts.vcf":
                data = data.replace(b"BEGIN:VCARD\r\n", b"", 1)
            out.writestr(name, data)
    with pytest.raises(ArchiveError, match="contacts.vcf"):
        archive.verify_archive(zipfile.ZipFile(bad))


def test_missing_output_folder_is_refused(demo_engine, tmp_path):
    from crm_tui.services import export
    from crm_tui.services.errors import InvalidInput

    with pytest.raises(InvalidInput, match="does not exist"):
        export.export_account(demo_engine, sign_in(demo_engine, OWNER), out_dir=tmp_path / "nope")


# --- Contacts → Group Actions ----------------------------------------------------------------


def contact_ids(engine, email):
    who = sign_in(engine, email)
    return who, [
        i for (i,) in rows(engine, "SELECT id FROM contact WHERE account_id = :a ORDER BY id", a=who.account_id)
    ]


def test_export_chosen_contacts_as_csv(archive_database, demo_engine, tmp_path):
    from crm_tui.services import export

    who, ids = contact_ids(demo_engine, OWNER)
    chosen = [ids[5], ids[2], ids[9], ids[2]]
    result = export.export_contacts(demo_engine, who, chosen, "csv", out_dir=tmp_path)
    assert result.path.name.startswith("acme-realty-contacts-") and result.path.suffix == ".csv"
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    got = list(csv.DictReader(io.StringIO(result.path.read_text("utf-8-sig"), newline="")))
    assert [int(r["id"]) for r in got] == sorted({ids[5], ids[2], ids[9]})
    assert result.counts == {"contacts": 3}


def test_export_all_contacts_as_vcards(archive_database, demo_engine, tmp_path):
    from crm_tui.services import export

    who, ids = contact_ids(demo_engine, ADMIN)
    seen = []
    result = export.export_contacts(
        demo_engine, who, None, "vcf", out_dir=tmp_path, progress=lambda d, t: seen.append((d, t))
    )
    cards = list(vobject.readComponents(result.path.read_text("utf-8")))
    assert len(cards) == len(ids) == 60
    assert seen[-1] == (60, 60)


def test_contacts_of_another_account_are_refused(demo_engine, tmp_path):
    from crm_tui.services import export
    from crm_tui.services.errors import InvalidInput, NotFound

    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    _other, other_ids = contact_ids(demo_engine, OTHER_OWNER)
    who, ids = contact_ids(demo_engine, OWNER)
    with pytest.raises(NotFound, match="1 of the chosen contacts is not in your account"):
        export.export_contacts(demo_engine, who, [ids[0], other_ids[0]], "vcf", out_dir=tmp_path)
    with pytest.raises(InvalidInput):
        export.export_contacts(demo_engine, who, [], "csv", out_dir=tmp_path)
    with pytest.raises(InvalidInput):
        export.export_contacts(demo_engine, who, [ids[0]], "xlsx", out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- the command line ------------------------------------------------------------------------


def run_cli(argv, stdin="", capsys=None, monkeypatch=None):
    from crm_tui import cli

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_account_export(demo_engine, db_url, tmp_path, capsys, monkeypatch):
    code, out, err = run_cli(
        ["--database-url", db_url, "account", "export", "--email", OWNER, "--password-stdin", "--out", str(tmp_path)],
        PASSWORDS[OWNER] + "\n",
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    path = Path(out.splitlines()[0])
    assert path.parent == tmp_path and zipfile.is_zipfile(path)
    assert "sha256" in out.splitlines()[1]
    code, out, err = run_cli(
        ["--database-url", db_url, "account", "export", "--email", OWNER, "--password-stdin", "--out", str(tmp_path)],
        "wrong\n",
        capsys,
        monkeypatch,
    )
    assert code == 1 and "wrong" in err and len(err.strip().splitlines()) == 1


def test_cli_contacts_export(demo_engine, db_url, tmp_path, capsys, monkeypatch):
    _who, ids = contact_ids(demo_engine, OWNER)
    code, out, err = run_cli(
        [
            "--database-url",
            db_url,
            "contacts",
            "export",
            "--email",
            OWNER,
            "--ids",
            f"{ids[0]},{ids[1]}",
            "--format",
            "vcf",
            "--out",
            str(tmp_path),
            "--password-stdin",
        ],
        PASSWORDS[OWNER] + "\n",
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    assert len(list(vobject.readComponents(Path(out.splitlines()[0]).read_text("utf-8")))) == 2
    for argv, needle in (
        (["--ids", "1,x", "--format", "csv"], "--ids takes"),
        (["--all", "--format", "csv"], "only the owner or an administrator"),
    ):
        email = PLAYER if "--all" in argv else OWNER
        code, _out, err = run_cli(
            [
                "--database-url",
                db_url,
                "contacts",
                "export",
                "--email",
                email,
                *argv,
                "--out",
                str(tmp_path),
                "--password-stdin",
            ],
            PASSWORDS[email] + "\n",
            capsys,
            monkeypatch,
        )
        assert code == 1 and needle in err and len(err.strip().splitlines()) == 1
