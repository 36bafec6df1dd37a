"""Exports that the next program imports (vCard REV, Google and Outlook CSV, byte-order
marks, template file names)."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone

import pytest
import vobject
from conftest import OWNER, sign_in
from sqlalchemy import text


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
    ids = [
        i for (i,) in rows(demo_engine, "SELECT id FROM contact WHERE account_id = :a ORDER BY id", a=who.account_id)
    ]
    newer, older, none = ids[3], ids[4], ids[5]
    with db.write_session(demo_engine) as s:
        s.execute(HistoryEntry.__table__.delete().where(HistoryEntry.contact_id.in_([older, none])))
        s.add(
            HistoryEntry(
                account_id=who.account_id,
                contact_id=newer,
                member_id=who.member_id,
                kind="call",
                at=datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc),
                summary="later",
            )
        )
        s.add(
            HistoryEntry(
                account_id=who.account_id,
                contact_id=older,
                member_id=who.member_id,
                kind="note",
                at=datetime(1999, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                summary="before",
            )
        )
    created = dict(rows(demo_engine, "SELECT id, created_at FROM contact WHERE account_id = :a", a=who.account_id))
    latest = dict(
        rows(
            demo_engine,
            "SELECT contact_id, max(at) FROM history_entry WHERE account_id = :a "
            "AND contact_id IS NOT NULL GROUP BY contact_id",
            a=who.account_id,
        )
    )
    expected = {cid: _stamp(max([_utc(created[cid]), *([_utc(latest[cid])] if cid in latest else [])])) for cid in ids}
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
    monkeypatch.setitem(archive.DATABASES, "sqlite", archive.SQLiteDatabase() if fast else archive.PORTABLE)
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


# --- Google Contacts CSV and Outlook CSV --------------------------------------------------------------

# Google Contacts' "Google CSV", as Google Contacts exports it (fixed columns, then numbered groups)
GOOGLE_DOCUMENTED = (
    "Name,Given Name,Additional Name,Family Name,Yomi Name,Given Name Yomi,Additional Name Yomi,Family Name Yomi,"
    "Name Prefix,Name Suffix,Initials,Nickname,Short Name,Maiden Name,Birthday,Gender,Location,Billing Information,"
    "Directory Server,Mileage,Occupation,Hobby,Sensitivity,Priority,Subject,Notes,Language,Photo,Group Membership,"
    "E-mail 1 - Type,E-mail 1 - Value,E-mail 2 - Type,E-mail 2 - Value,"
    "Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,Phone 2 - Value,Phone 3 - Type,Phone 3 - Value,"
    "Phone 4 - Type,Phone 4 - Value,"
    "Address 1 - Type,Address 1 - Formatted,Address 1 - Street,Address 1 - City,Address 1 - PO Box,"
    "Address 1 - Region,Address 1 - Postal Code,Address 1 - Country,Address 1 - Extended Address,"
    "Organization 1 - Type,Organization 1 - Name,Organization 1 - Yomi Name,Organization 1 - Title,"
    "Organization 1 - Department,Organization 1 - Symbol,Organization 1 - Location,Organization 1 - Job Description"
)
# Outlook.com's export (People → Manage contacts → Export contacts)
OUTLOOK_COM_DOCUMENTED = (
    "First Name,Middle Name,Last Name,Title,Suffix,Nickname,Given Yomi,Surname Yomi,E-mail Address,"
    "E-mail 2 Address,E-mail 3 Address,Home Phone,Home Phone 2,Business Phone,Business Phone 2,Mobile Phone,"
    "Car Phone,Other Phone,Primary Phone,Pager,Business Fax,Home Fax,Other Fax,Company Main Phone,Callback,"
    "Radio Phone,Telex,TTY/TDD Phone,IMAddress,Job Title,Department,Company,Office Location,Manager's Name,"
    "Assistant's Name,Assistant's Phone,Company Yomi,Business Street,Business City,Business State,"
    "Business Postal Code,Business Country/Region,Home Street,Home City,Home State,Home Postal Code,"
    "Home Country/Region,Other Street,Other City,Other State,Other Postal Code,Other Country/Region,"
    "Personal Web Page,Spouse,Schools,Hobby,Location,Web Page,Birthday,Anniversary,Notes"
)


def _contact(engine, who, **fields) -> int:
    from crm_tui import db
    from crm_tui.models import Contact

    base = dict(account_id=who.account_id, owner_id=who.member_id, created_at=datetime(2025, 1, 2, tzinfo=timezone.utc))
    with db.write_session(engine) as s:
        c = Contact(**base, **fields)
        s.add(c)
        s.flush()
        return c.id


@pytest.fixture
def people(demo_engine):
    from datetime import date

    who = sign_in(demo_engine, OWNER)
    ann = _contact(
        demo_engine,
        who,
        first_name="Zoë",
        last_name="Ng, Jr.",
        company="Acme",
        email="zoe@x.example",
        email2="z2@x.example",
        phone1="555 0100",
        phone1_text_ok=False,
        phone2="=2+3",
        phone2_text_ok=True,
        phone3="555 0103",
        phone4="+1 555 0104",
        phone4_text_ok=True,
        street="1 Main St\nUnit 2",
        city="Austin",
        state="TX",
        postal_code="78701",
        country="USA",
        birthday=date(1980, 4, 1),
        category1="Buyer",
        category2="VIP",
        notes='Said "call me"\nlater',
    )
    firm = _contact(demo_engine, who, company="Harbor Homes", email2="info@harbor.example", phone3="-5 555")
    return demo_engine, who, ann, firm


def _csv_rows(raw: bytes) -> list[list[str]]:
    import csv

    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_headers_are_the_documented_column_names():
    from crm_tui.services import contact_csv

    assert ",".join(contact_csv.GOOGLE_HEADER) == GOOGLE_DOCUMENTED
    assert ",".join(contact_csv.OUTLOOK_HEADER) == OUTLOOK_COM_DOCUMENTED + ",Categories"


def test_google_contacts_csv(people, tmp_path):
    from crm_tui.services import export

    engine, who, ann, firm = people
    result = export.export_contacts(engine, who, [firm, ann], "google", out_dir=tmp_path)
    assert result.path.name.endswith("-google.csv") and result.counts == {"contacts": 2}
    raw = result.path.read_bytes()
    assert raw.startswith(b"Name,Given Name,")  # no byte-order mark: as Google writes its own
    header, a, f = _csv_rows(raw)
    assert ",".join(header) == GOOGLE_DOCUMENTED
    a, f = dict(zip(header, a, strict=False)), dict(zip(header, f, strict=False))
    assert (a["Name"], a["Given Name"], a["Family Name"]) == ("Zoë Ng, Jr.", "Zoë", "Ng, Jr.")
    assert a["Organization 1 - Name"] == "Acme" and a["Birthday"] == "1980-04-01"
    assert a["Notes"] == 'Said "call me"\nlater' and a["Group Membership"] == "Buyer ::: VIP"
    assert [(a[f"E-mail {n} - Type"], a[f"E-mail {n} - Value"]) for n in (1, 2)] == [
        ("Other", "zoe@x.example"),
        ("Other", "z2@x.example"),
    ]
    # texts-ok phones are mobiles; the others home, then other; no formula apostrophe
    assert [(a[f"Phone {n} - Type"], a[f"Phone {n} - Value"]) for n in (1, 2, 3, 4)] == [
        ("Home", "555 0100"),
        ("Mobile", "=2+3"),
        ("Other", "555 0103"),
        ("Mobile", "+1 555 0104"),
    ]
    assert [a[f"Address 1 - {p}"] for p in ("Type", "Street", "City", "Region", "Postal Code", "Country")] == [
        "Home",
        "1 Main St\nUnit 2",
        "Austin",
        "TX",
        "78701",
        "USA",
    ]
    assert f["Name"] == "" and f["Organization 1 - Name"] == "Harbor Homes"
    assert (f["E-mail 1 - Value"], f["E-mail 2 - Value"]) == ("info@harbor.example", "")
    assert (f["Phone 1 - Type"], f["Phone 1 - Value"], f["Address 1 - Type"]) == ("Home", "-5 555", "")


def test_outlook_csv(people, tmp_path):
    from crm_tui.services import export

    engine, who, ann, firm = people
    result = export.export_contacts(engine, who, [ann, firm], "outlook", out_dir=tmp_path)
    assert result.path.name.endswith("-outlook.csv")
    raw = result.path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfFirst Name,Middle Name,Last Name,")  # UTF-8 with a byte-order mark
    header, a, f = _csv_rows(raw)
    assert ",".join(header) == OUTLOOK_COM_DOCUMENTED + ",Categories"
    a, f = dict(zip(header, a, strict=False)), dict(zip(header, f, strict=False))
    assert (a["First Name"], a["Last Name"], a["Company"]) == ("Zoë", "Ng, Jr.", "Acme")
    assert (a["E-mail Address"], a["E-mail 2 Address"]) == ("zoe@x.example", "z2@x.example")
    assert {k: v for k, v in a.items() if v and k.endswith(("Phone", "Phone 2"))} == {
        "Home Phone": "555 0100",
        "Mobile Phone": "=2+3",
        "Other Phone": "555 0103",
        "Home Phone 2": "+1 555 0104",
    }
    assert [a[f"Home {p}"] for p in ("Street", "City", "State", "Postal Code", "Country/Region")] == [
        "1 Main St\nUnit 2",
        "Austin",
        "TX",
        "78701",
        "USA",
    ]
    assert (a["Birthday"], a["Notes"], a["Categories"]) == ("1980-04-01", 'Said "call me"\nlater', "Buyer;VIP")
    assert (f["First Name"], f["Company"], f["E-mail Address"], f["Home Phone"]) == (
        "",
        "Harbor Homes",
        "info@harbor.example",
        "-5 555",
    )


@pytest.mark.parametrize(
    "phones,expected",
    [
        (
            [("a", True), ("b", False), ("c", False), ("d", False)],
            {"Mobile Phone": "a", "Home Phone": "b", "Other Phone": "c", "Home Phone 2": "d"},
        ),
        (
            [("a", True), ("b", True), ("c", True), ("d", True)],
            {"Mobile Phone": "a", "Other Phone": "b", "Home Phone 2": "c", "Home Phone": "d"},
        ),
        ([("", True), ("b", False), ("", False), ("d", True)], {"Home Phone": "b", "Mobile Phone": "d"}),
    ],
)
def test_outlook_phone_columns_hold_every_phone(phones, expected):
    from crm_tui.services import contact_csv

    assert contact_csv.outlook_phones(phones) == expected


@pytest.mark.parametrize("fmt", ["google", "outlook"])
def test_import_csvs_of_every_contact_on_both_paths_agree(demo_engine, tmp_path, monkeypatch, fmt):
    from crm_tui.services import archive, export

    who = sign_in(demo_engine, OWNER)
    got = []
    for fast in (True, False):
        monkeypatch.setitem(archive.DATABASES, "sqlite", archive.SQLiteDatabase() if fast else archive.PORTABLE)
        out = tmp_path / str(fast)
        out.mkdir()
        result = export.export_contacts(demo_engine, who, None, fmt, out_dir=out)
        got.append(_csv_rows(result.path.read_bytes()))
    assert got[0] == got[1] and len(got[0]) == 61


def test_cli_exports_google_and_outlook_csv(demo_engine, db_url, tmp_path, capsys, monkeypatch):
    import io
    from pathlib import Path

    from crm_tui import cli

    for fmt, start in (("google", b"Name,"), ("outlook", b"\xef\xbb\xbfFirst Name,")):
        monkeypatch.setattr("sys.stdin", io.StringIO("demo-owner\n"))
        code = cli.main(
            [
                "--database-url",
                db_url,
                "contacts",
                "export",
                "--email",
                OWNER,
                "--all",
                "--format",
                fmt,
                "--out",
                str(tmp_path),
                "--password-stdin",
            ]
        )
        out, err = capsys.readouterr()
        assert code == 0, err
        path = Path(out.splitlines()[0])
        assert path.read_bytes().startswith(start) and len(_csv_rows(path.read_bytes())) == 61
    with pytest.raises(SystemExit) as usage:
        cli.main(["--database-url", db_url, "contacts", "export", "--email", OWNER, "--all", "--format", "xlsx"])
    assert usage.value.code == 2


def test_the_formats_offered_are_the_services():
    from crm_tui.cli import build_parser
    from crm_tui.services import export
    from crm_tui.tui.screens import contacts

    assert list(contacts.FORMAT_NAMES) == list(export.FORMATS)
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["contacts"]
    export_parser = next(a for a in sub._actions if a.dest == "contacts_command").choices["export"]
    assert next(a for a in export_parser._actions if a.dest == "format").choices == list(export.FORMATS)


# --- email template file names --------------------------------------------------------------------


def _safe_component(stem: str, limit: int = 100) -> None:
    import unicodedata

    from crm_tui.services import export

    assert stem and stem == unicodedata.normalize("NFC", stem)
    assert not stem.startswith(("-", ".")) and not stem.endswith(("-", ".", " "))
    assert "/" not in stem and "\\" not in stem and ".." not in stem and "." not in stem
    assert all(unicodedata.category(ch)[0] in "LNM" or ch == "-" for ch in stem), stem
    assert len(stem.encode("utf-8")) <= limit + len("-file")
    assert stem.split("-")[0] not in export._RESERVED or "-" in stem


def test_template_file_names_keep_their_letters_and_stay_in_their_folder(demo_engine, tmp_path):
    import unicodedata

    from crm_tui import db
    from crm_tui.models import EmailTemplate
    from crm_tui.services import export

    who = sign_in(demo_engine, OWNER)
    names = [
        "日本語テンプレート",
        "Zoe\u0308's offer",
        "../../etc/passwd",
        "..",
        ".hidden",
        "a\\b/c",
        "CON",
        "Lpt1",
        "nul.html",
        "x" * 300,
        "日本語" * 60,
        "Offer",
        "offer",
        "OFFER",
        "evil\u202elmth.exe",
        "\x1b[31m" + ("\x00" if demo_engine.dialect.name == "sqlite" else ""),  # PostgreSQL cannot store NUL
        "Straße",
    ]
    with db.write_session(demo_engine) as s:
        s.add_all([EmailTemplate(account_id=who.account_id, name=n, subject="s", body="b") for n in names])
    result = export.export_account(demo_engine, who, out_dir=tmp_path)
    zf = zipfile.ZipFile(result.path)
    members = [i for i in zf.infolist() if i.filename.startswith("email_templates/")]
    stems = [i.filename[len("email_templates/") : -len(".html")] for i in members]
    assert all(i.filename.endswith(".html") and i.filename.count("/") == 1 for i in members)
    for stem in stems:
        _safe_component(stem)
    assert len({s.casefold() for s in stems}) == len(stems) == 8 + len(names)
    for expected in (
        "日本語テンプレート",
        "zoë-s-offer",
        "etc-passwd",
        "hidden",
        "a-b-c",
        "con-file",
        "lpt1-file",
        "nul-html",
        "offer",
        "offer-2",
        "offer-3",
        "evil-lmth-exe",
        "31m",
        "straße",
    ):
        assert expected in stems, expected
    assert stems[8 + 1] == "zo\u00eb-s-offer" == unicodedata.normalize("NFC", "zoe\u0308-s-offer")  # NFD in, NFC out
    assert "x" * 100 in stems and ("日本語" * 11)[:33] in stems  # 100 bytes: 33 whole characters
    japanese = next(i for i in members if "テンプレート" in i.filename)
    assert japanese.flag_bits & 0x800  # the zip says the name is UTF-8, so unzip tools show it as such
    # unpacked, every file lands in the folder
    zf.extractall(tmp_path / "unpacked")
    unpacked = sorted(p.name for p in (tmp_path / "unpacked" / "email_templates").iterdir())
    assert sorted(f"{s}.html" for s in stems) == unpacked


@pytest.mark.parametrize("text", ["", ".", "..", "/", "\\", "-", "\u0301", "\x00", "\u202e"])
def test_a_name_with_nothing_left_gets_the_fallback(text):
    from crm_tui.services import export

    assert export.file_stem(text, "template-7") == "template-7"


def test_a_long_name_is_cut_between_characters_not_inside_one():
    from crm_tui.services import export

    assert export.file_stem("é" * 80, "f") == "é" * 50  # 100 bytes
    decomposed = "e\u0323\u0302" * 40  # e, dot below, circumflex: NFC makes ệ (3 bytes) per letter
    assert export.file_stem(decomposed, "f") == "ệ" * 33
    assert export.file_stem("a" + "\u0937\u094d" * 40, "f", limit=10) == "a" + "\u0937\u094d"  # ष् whole


def test_any_name_gives_one_safe_file_name():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from crm_tui.services import export

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=200) | st.text(alphabet="./\\ -\x00\u202e\u0301aé日本CONcom1", max_size=120))
    def check(text):
        stem = export.file_stem(text, "template-1")
        _safe_component(stem)
        assert stem not in export._RESERVED

    check()
