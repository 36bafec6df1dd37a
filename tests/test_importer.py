"""Importing an export as a new account: the way back after the 3-month restore window."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import ADMIN, OTHER_OWNER, OWNER, PASSWORDS, PLAYER, dump_account, dump_database, sign_in
from sqlalchemy import text

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
NEW_OWNER = "newowner@example.org"
NEW_PASSWORD = "a-new-password"
# reference column -> the data member whose rows it points at
REFS = {
    "owner_id": "team.json",
    "assignee_id": "team.json",
    "member_id": "team.json",
    "contact_id": "contacts.csv",
    "template_id": "email_templates.json",
}


def export(engine, email: str, folder: Path, password: str | None = None) -> Path:
    from crm_tui.services import export as export_service

    folder.mkdir(parents=True, exist_ok=True)
    return export_service.export_account(engine, sign_in_as(engine, email, password), out_dir=folder).path


def sign_in_as(engine, email: str, password: str | None = None):
    from crm_tui.services import auth

    if password is None:
        return sign_in(engine, email)
    return auth.sign_in(engine, email, password)


def import_(engine, path, email=NEW_OWNER, name="Acme Again", password=NEW_PASSWORD):
    from crm_tui.services import importer

    return importer.import_account(engine, path, email=email, account_name=name, password=password)


def read_members(path: Path) -> dict[str, list]:
    """The data members of an archive: CSV members as lists of rows (dicts), JSON as loaded."""
    out: dict[str, list] = {}
    with zipfile.ZipFile(path) as zf:
        for name in DATA_MEMBERS:
            raw = zf.read(name).decode("utf-8-sig")
            out[name] = list(csv.DictReader(io.StringIO(raw, newline=""))) if name.endswith(".csv") else json.loads(raw)
    return out


def ids_aside(members: dict[str, list]) -> dict[str, list]:
    """The data members with every id replaced by its row's place in its member, and every
    reference by the place of the row it points at: equal for two archives that hold the same
    data under other ids, in the same order, with the same references."""
    place: dict[str, dict[str, int]] = {
        name: {str(row["id"]): i for i, row in enumerate(rows)} for name, rows in members.items()
    }
    steps = [s for r in members["autoresponders.json"] for s in r["steps"]]
    place["steps"] = {str(s["id"]): i for i, s in enumerate(steps)}
    place["responders"] = place["autoresponders.json"]

    def canon(row: dict, own: str) -> dict:
        out = dict(row)
        out["id"] = place[own][str(row["id"])]
        for column, target in (*REFS.items(), ("autoresponder_id", "responders")):
            if column in out and out[column] not in ("", None):
                out[column] = place[target][str(out[column])]
        if own == "autoresponders.json":
            out["steps"] = [canon(s, "steps") for s in row["steps"]]
        return out

    return {name: [canon(row, name) for row in rows] for name, rows in members.items()}


def owned_rows(engine, account_id: int) -> int:
    with engine.connect() as conn:
        return sum(
            conn.execute(text(f'SELECT count(*) FROM "{t}" WHERE account_id = :a'), {"a": account_id}).scalar()
            for t in (
                "member",
                "contact",
                "appointment",
                "todo",
                "email_template",
                "autoresponder",
                "autoresponder_step",
                "history_entry",
                "text_message",
                "invoice",
            )
        )


@pytest.fixture(params=["fast", "typed"])
def sqlite_path(request, monkeypatch) -> str:
    """Both ways rows are inserted: SQLite's fast path, and the typed one (other databases)."""
    from crm_tui.services import archive

    fast = request.param == "fast"
    monkeypatch.setitem(archive.DATABASES, "sqlite", archive.SQLiteDatabase() if fast else archive.PORTABLE)
    return request.param


# --- the round trip the issue asks for ---------------------------------------------------------------


def test_export_close_purge_import_export_gives_the_same_data_members(fresh_demo, tmp_path, sqlite_path):
    from crm_tui.services import clock, closing

    first = export(fresh_demo, OWNER, tmp_path / "first")
    closing.close_account(fresh_demo, sign_in(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    assert closing.purge(fresh_demo, now=clock.now() + timedelta(days=200)).purged == 1

    result = import_(fresh_demo, first, email=OWNER, name="Acme Realty")
    assert sorted(m.email for m in result.members) == sorted([ADMIN, PLAYER])
    assert result.not_members == ()
    before, after = read_members(first), read_members(export(fresh_demo, OWNER, tmp_path / "second", NEW_PASSWORD))
    assert ids_aside(after) == ids_aside(before)
    assert before["contacts.csv"] and before["autoresponders.json"][0]["steps"]  # there is something to compare
    # new ids: none of the original contacts' ids is reused
    assert {r["id"] for r in after["contacts.csv"]}.isdisjoint({r["id"] for r in before["contacts.csv"]})

    # the owner signs in with the new password; each member with the one-time password shown
    me = sign_in_as(fresh_demo, OWNER, NEW_PASSWORD)
    assert (me.role, me.account_id, me.account_name) == ("owner", result.account_id, "Acme Realty")
    for member in result.members:
        who = sign_in_as(fresh_demo, member.email, member.password)
        assert (who.account_id, who.role) == (result.account_id, member.role)


def test_the_import_is_audited_without_personal_data(fresh_demo, tmp_path):
    from crm_tui import db
    from crm_tui.services import audit

    result = import_(fresh_demo, export(fresh_demo, OWNER, tmp_path))
    with fresh_demo.connect() as conn:
        row = conn.execute(
            text("SELECT actor, action, account_id, details_json FROM audit_event ORDER BY id DESC LIMIT 1")
        ).one()
    owner_id = sign_in_as(fresh_demo, NEW_OWNER, NEW_PASSWORD).member_id
    assert row[:3] == (f"member:{owner_id}", "account.import", result.account_id)
    details = json.loads(row[3])
    assert details["counts"] == result.counts and details["new_account"] is True
    assert "@" not in row[3] and "Acme" not in row[3]
    with db.read_session(fresh_demo) as s:
        assert audit.verify(s).ok


# --- while the original account exists ----------------------------------------------------------------


def test_import_while_the_original_exists_leaves_it_alone_and_can_be_done_twice(fresh_demo, tmp_path):
    path = export(fresh_demo, OWNER, tmp_path)
    acme = sign_in(fresh_demo, OWNER).account_id
    original = dump_account(fresh_demo, acme)

    first = import_(fresh_demo, path)
    second = import_(fresh_demo, path, email="second@example.org", name="Acme Three")
    assert dump_account(fresh_demo, acme) == original
    assert first.account_id != second.account_id
    # the team's emails belong to the original account: they come back as nobody's login, and
    # what they owned is the new owner's
    assert first.members == () and sorted(first.not_members) == sorted([ADMIN, PLAYER])
    manifest_counts = json.loads(zipfile.ZipFile(path).read("manifest.json"))["counts"]
    for result in (first, second):
        assert {k: v for k, v in result.counts.items() if k != "team_members"} == {
            k: v for k, v in manifest_counts.items() if k != "team_members"
        }
        assert result.counts["team_members"] == 1
    owner_id = sign_in_as(fresh_demo, NEW_OWNER, NEW_PASSWORD).member_id
    with fresh_demo.connect() as conn:
        owners = set(
            conn.execute(
                text(
                    "SELECT owner_id FROM contact WHERE account_id = :a UNION "
                    "SELECT assignee_id FROM todo WHERE account_id = :a UNION "
                    "SELECT owner_id FROM appointment WHERE account_id = :a UNION "
                    "SELECT member_id FROM history_entry WHERE account_id = :a"
                ),
                {"a": first.account_id},
            ).scalars()
        )
        # every reference stays inside the new account
        stray = (
            conn.execute(
                text(
                    "SELECT count(*) FROM contact c JOIN member m ON m.id = c.owner_id WHERE c.account_id = :a "
                    "AND m.account_id != :a UNION ALL SELECT count(*) FROM appointment p JOIN contact c "
                    "ON c.id = p.contact_id WHERE p.account_id = :a AND c.account_id != :a UNION ALL "
                    "SELECT count(*) FROM autoresponder_step s JOIN email_template t ON t.id = s.template_id "
                    "WHERE s.account_id = :a AND t.account_id != :a"
                ),
                {"a": first.account_id},
            )
            .scalars()
            .all()
        )
    assert owners == {owner_id}
    assert stray == [0, 0, 0]


def test_a_member_whose_email_is_taken_does_not_come_back_and_their_records_are_the_owners(fresh_demo, tmp_path):
    from crm_tui.services import clock, closing, team

    path = export(fresh_demo, OWNER, tmp_path)
    marcus = dict(
        zip(
            ("contacts", "todos", "appointments"),
            next(
                (m.contacts, m.todos, m.appointments)
                for m in team.list_members(fresh_demo, sign_in(fresh_demo, OWNER))
                if m.email == ADMIN
            ),
            strict=False,
        )
    )
    assert marcus["contacts"] and marcus["appointments"]
    closing.close_account(fresh_demo, sign_in(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    closing.purge(fresh_demo, now=clock.now() + timedelta(days=200))
    team.add_member(fresh_demo, sign_in(fresh_demo, OTHER_OWNER), ADMIN, "Another Marcus", "team player")

    result = import_(fresh_demo, path)
    assert result.not_members == (ADMIN,)
    assert [(m.email, m.role) for m in result.members] == [(PLAYER, "team player")]
    rows = {r.email: r for r in team.list_members(fresh_demo, sign_in_as(fresh_demo, NEW_OWNER, NEW_PASSWORD))}
    assert set(rows) == {NEW_OWNER, PLAYER}
    manifest_counts = json.loads(zipfile.ZipFile(path).read("manifest.json"))["counts"]
    # nothing lost: Marcus's records are counted with the owner's
    assert sum(r.contacts for r in rows.values()) == manifest_counts["contacts"]
    assert sum(r.appointments for r in rows.values()) == manifest_counts["appointments"]
    assert sum(r.todos for r in rows.values()) == manifest_counts["todos"]


def test_the_importers_email_must_be_free(fresh_demo, tmp_path):
    from crm_tui.services import closing
    from crm_tui.services.errors import InvalidInput

    path = export(fresh_demo, OWNER, tmp_path)
    before = dump_database(fresh_demo)
    for taken in (OTHER_OWNER, ADMIN.upper()):
        with pytest.raises(InvalidInput, match="already has a crm-tui account"):
            import_(fresh_demo, path, email=taken)
    assert dump_database(fresh_demo) == before
    # closed but restorable: the address stays the closed account's until restore or purge
    closing.close_account(fresh_demo, sign_in(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    before = dump_database(fresh_demo)
    with pytest.raises(InvalidInput, match="closed account that can still be restored"):
        import_(fresh_demo, path, email=OWNER)
    assert dump_database(fresh_demo) == before


@pytest.mark.parametrize(
    "email, name, password, message",
    [
        ("not-an-email", "Acme", NEW_PASSWORD, "not an email address"),
        (NEW_OWNER, "   ", NEW_PASSWORD, "needs a name"),
        (NEW_OWNER, "x" * 121, NEW_PASSWORD, "at most 120"),
        (NEW_OWNER, "Acme\x1b[2J", NEW_PASSWORD, "printable"),
        (NEW_OWNER, "Acme", "short", "at least 8 characters"),
        (NEW_OWNER, "Acme", NEW_OWNER.upper(), "cannot be your email"),
    ],
    ids=["email", "empty-name", "long-name", "control-name", "short-password", "password-is-email"],
)
def test_bad_input_is_refused_and_changes_nothing(fresh_demo, tmp_path, email, name, password, message):
    from crm_tui.services.errors import InvalidInput

    path = export(fresh_demo, OWNER, tmp_path)
    before = dump_database(fresh_demo)
    with pytest.raises(InvalidInput, match=message):
        import_(fresh_demo, path, email=email, name=name, password=password)
    assert dump_database(fresh_demo) == before


# --- damaged and foreign files --------------------------------------------------------------------------


def rewrite(src: Path, dst: Path, change) -> Path:
    """A copy of the archive whose members ``change(name, bytes)`` edits (None drops one)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)
    return dst


def resealed(src: Path, dst: Path, name: str, edit) -> Path:
    """A copy with one member edited and the manifest's checksum, size and rows made to match:
    a file that passes verification but whose content is not what crm-tui writes."""
    import hashlib

    with zipfile.ZipFile(src) as zin:
        new = edit(zin.read(name))
        manifest = json.loads(zin.read("manifest.json"))
    manifest["members"][name].update(sha256=hashlib.sha256(new).hexdigest(), bytes=len(new))
    return rewrite(
        src, dst, lambda n, data: new if n == name else json.dumps(manifest).encode() if n == "manifest.json" else data
    )


def flip_a_bit_in_contacts(src: Path, dst: Path) -> Path:
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as zf:
        info = zf.getinfo("contacts.csv")
    # the member's compressed bytes start after its local header (30 bytes, name, extra field)
    start = (
        info.header_offset
        + 30
        + len(info.filename.encode())
        + int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    )
    data[start + info.compress_size // 2] ^= 0x10
    dst.write_bytes(bytes(data))
    return dst


def bump_version(src: Path, dst: Path) -> Path:
    def change(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["format_version"] = 2
        return json.dumps(manifest).encode()

    return rewrite(src, dst, change)


def foreign(src: Path, dst: Path) -> Path:
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "someone-else", "format_version": 1}))
        zf.writestr("contacts.csv", "name\r\nZoë\r\n")
    return dst


def dangling_contact(src: Path, dst: Path) -> Path:
    """appointments.csv pointing at a contact the archive does not hold (checksums resealed):
    found only while rows are inserted, so the rows before it must go too."""

    def edit(data: bytes) -> bytes:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        column = rows[0].index("contact_id")
        last = next(i for i in range(len(rows) - 1, 0, -1) if rows[i][column])
        rows[last][column] = "999999999"
        out = io.StringIO("\ufeff")
        out.seek(1)
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        return out.getvalue().encode()

    return resealed(src, dst, "appointments.csv", edit)


def repeated_id(src: Path, dst: Path) -> Path:
    """Two contacts under one id (checksums resealed): references to it would be ambiguous."""

    def edit(data: bytes) -> bytes:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        rows[2][rows[0].index("id")] = rows[1][rows[0].index("id")]
        out = io.StringIO("\ufeff")
        out.seek(1)
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        return out.getvalue().encode()

    return resealed(src, dst, "contacts.csv", edit)


def bad_timestamp(src: Path, dst: Path) -> Path:
    def edit(data: bytes) -> bytes:
        templates = json.loads(data)
        templates[0]["created_at"] = "yesterday"
        return json.dumps(templates).encode()

    return resealed(src, dst, "team.json", edit)


def bad_template_name(src: Path, dst: Path) -> Path:
    def edit(data: bytes) -> bytes:
        templates = json.loads(data)
        templates[-1]["name"] = {"not": "text"}
        return json.dumps(templates).encode()

    return resealed(src, dst, "email_templates.json", edit)


def two_owners(src: Path, dst: Path) -> Path:
    def edit(data: bytes) -> bytes:
        team = json.loads(data)
        for member in team:
            member["role"] = "owner"
        return json.dumps(team).encode()

    return resealed(src, dst, "team.json", edit)


DAMAGE = {
    "one-bit-flipped": (flip_a_bit_in_contacts, "contacts.csv"),
    "truncated": (
        lambda src, dst: dst.write_bytes(src.read_bytes()[: src.stat().st_size // 2]) and dst,
        "damaged or truncated",
    ),
    "not-a-zip": (lambda src, dst: dst.write_text("name,email\nZoë,z@example.org\n") and dst, "damaged or truncated"),
    "empty-file": (lambda src, dst: dst.write_bytes(b"") or dst, "damaged or truncated"),
    "no-manifest": (
        lambda src, dst: rewrite(src, dst, lambda n, d: None if n == "manifest.json" else d),
        "no manifest.json",
    ),
    "unknown-version": (bump_version, "unknown archive format version 2"),
    "foreign": (foreign, "not a crm-tui account archive"),
    "member-missing": (
        lambda src, dst: rewrite(src, dst, lambda n, d: None if n == "todos.csv" else d),
        "do not match its manifest",
    ),
    "dangling-reference": (dangling_contact, "does not hold"),
    "repeated-id": (repeated_id, "repeats an id|repeats the id of a contact"),
    "two-owners": (two_owners, "exactly one owner"),
    "bad-timestamp": (bad_timestamp, "team.json holds a value crm-tui cannot read"),
    "bad-value-type": (bad_template_name, "cannot read|refused a row"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_or_foreign_file_is_refused_with_one_line_and_nothing_changes(
    fresh_demo, tmp_path, damage, sqlite_path
):
    from crm_tui.services.errors import ArchiveError

    good = export(fresh_demo, OWNER, tmp_path / "good")
    make, message = DAMAGE[damage]
    bad = make(good, tmp_path / f"{damage}.zip")
    before = dump_database(fresh_demo)
    with pytest.raises(ArchiveError, match=message) as caught:
        import_(fresh_demo, bad)
    assert "\n" not in str(caught.value)
    assert dump_database(fresh_demo) == before


def test_no_file_is_refused(fresh_demo, tmp_path):
    from crm_tui.services.errors import ArchiveError

    before = dump_database(fresh_demo)
    for path in (tmp_path / "nothing.zip", tmp_path):
        with pytest.raises(ArchiveError, match="no archive at"):
            import_(fresh_demo, path)
    assert dump_database(fresh_demo) == before


# --- the command line ---------------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch, capsys, fresh_demo):
    import sys

    from crm_tui import cli as cli_module

    monkeypatch.setenv("CRM_TUI_DATABASE_URL", str(fresh_demo.url))

    def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        try:
            code = cli_module.main(argv)
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_import_prints_one_line_per_member_with_their_temporary_password(cli, fresh_demo, tmp_path):
    from crm_tui.services import clock, closing

    path = export(fresh_demo, OWNER, tmp_path)
    closing.close_account(fresh_demo, sign_in(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    closing.purge(fresh_demo, now=clock.now() + timedelta(days=200))
    code, out, err = cli(
        ["account", "import", str(path), "--email", NEW_OWNER, "--name", "Acme Again", "--password-stdin"],
        stdin=NEW_PASSWORD + "\n",
    )
    assert (code, err) == (0, "")
    assert "Imported Acme Again" in out and NEW_OWNER in out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("  ") and "@" in line}
    assert set(lines) == {ADMIN, PLAYER}
    for email, words in lines.items():
        assert sign_in_as(fresh_demo, email, words[-1]).account_name == "Acme Again"


@pytest.mark.parametrize(
    "argv, stdin, code, message",
    [
        (["--email", NEW_OWNER, "--name", "X", "--password-stdin"], NEW_PASSWORD + "\n", 1, "damaged"),
        (["--email", NEW_OWNER, "--name", "", "--password-stdin"], NEW_PASSWORD + "\n", 1, "needs a name"),
        (["--email", NEW_OWNER, "--name", "X", "--password-stdin"], "", 1, "no password"),
        (["--email", NEW_OWNER, "--name", "X"], NEW_PASSWORD + "\n", 1, "--password-stdin"),
        (["--email", OWNER, "--name", "X", "--password-stdin"], NEW_PASSWORD + "\n", 1, "already has"),
        (["--name", "X", "--password-stdin"], NEW_PASSWORD + "\n", 2, "--email"),
    ],
    ids=["damaged", "empty-name", "no-password", "no-password-stdin", "email-taken", "usage"],
)
def test_cli_refusals_are_one_line_and_change_nothing(cli, fresh_demo, tmp_path, argv, stdin, code, message):
    good = export(fresh_demo, OWNER, tmp_path / "good")
    path = good if message != "damaged" else flip_a_bit_in_contacts(good, tmp_path / "bad.zip")
    before = dump_database(fresh_demo)
    got, out, err = cli(["account", "import", str(path), *argv], stdin=stdin)
    assert got == code and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("crm-tui: ") and message in lines[0], err
    assert dump_database(fresh_demo) == before


def test_while_the_original_is_closed_and_restorable_its_members_emails_stay_reserved(fresh_demo, tmp_path):
    from crm_tui.services import closing

    path = export(fresh_demo, OWNER, tmp_path)
    closing.close_account(fresh_demo, sign_in(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    result = import_(fresh_demo, path)
    assert result.members == () and sorted(result.not_members) == sorted([ADMIN, PLAYER])
    # support can still restore the original, team members included
    restored = closing.restore(fresh_demo, OWNER)
    assert restored.counts["team_members"] == 3
    assert sign_in(fresh_demo, ADMIN).account_id == restored.account_id


def test_cli_at_a_terminal_asks_for_the_new_password_twice(cli, fresh_demo, tmp_path, monkeypatch):
    import getpass
    import sys

    path = export(fresh_demo, OWNER, tmp_path)
    answers: list[str] = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": answers.pop(0))

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    before = dump_database(fresh_demo)
    for typed, code in (([NEW_PASSWORD, NEW_PASSWORD + "x"], 1), ([NEW_PASSWORD, NEW_PASSWORD], 0)):
        answers[:] = typed
        argv = ["account", "import", str(path), "--email", NEW_OWNER, "--name", "Acme Again", "--password-stdin"]
        from crm_tui import cli as cli_module

        monkeypatch.setattr(sys, "stdin", Terminal())
        got = cli_module.main(argv)
        assert got == code and answers == []
        if code:
            assert dump_database(fresh_demo) == before
    assert sign_in_as(fresh_demo, NEW_OWNER, NEW_PASSWORD).account_name == "Acme Again"
