"""The vCard / iCalendar writer, checked against vobject and icalendar as oracles."""

from __future__ import annotations

from datetime import date, datetime, timezone

import icalendar
import pytest
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_tui.services import vformat

NASTY = [
    "Smith, Jr.",
    "a;b;c",
    "back\\slash",
    "line one\nline two",
    "crlf\r\nhere",
    "cr\ronly",
    "emoji 🎉👩‍👩‍👧 ok",
    "Zoë Müller-Łukasiewicz",
    '=HYPERLINK("x")',
    "x" * 300,
    "é" * 200,
    "日本語のテキスト" * 20,
]


def unix_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def physical_lines(text: str) -> list[bytes]:
    data = text.encode("utf-8")
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


@pytest.mark.parametrize("value", NASTY)
def test_lines_are_at_most_75_octets_and_whole_utf8(value):
    out = vformat.text_line("NOTE", value)
    for raw in physical_lines(out):
        assert len(raw) <= 75
        raw.decode("utf-8")  # no multi-octet sequence was split
    # unfolding (CRLF + one space removed) gives back the unfolded line
    assert out[:-2].replace("\r\n ", "") == "NOTE:" + vformat.escape(value)


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=400))
def test_folding_any_text_round_trips(value):
    out = vformat.text_line("X-T", value)
    assert all(len(raw) <= 75 for raw in physical_lines(out))
    assert out.count("\r\n") == 1 + out.count("\r\n ")


def test_escape_rules():
    assert vformat.escape("a\\b,c;d\ne") == "a\\\\b\\,c\\;d\\ne"
    assert vformat.escape("a\r\nb\rc") == "a\\nb\\nc"
    assert vformat.escape("bell\x07tab\tok") == "belltab\tok"  # controls other than TAB dropped


def test_uids_are_stable_and_distinct():
    assert vformat.uid(1, "contact", 5) == vformat.uid(1, "contact", 5)
    uids = {vformat.uid(a, k, i) for a in (1, 2) for k in ("contact", "todo") for i in (1, 2, 12)}
    assert len(uids) == 12


def card(**kw) -> str:
    defaults = dict(uid=vformat.uid(1, "contact", 1))
    defaults.update(kw)
    return vformat.vcard(**defaults)


@pytest.mark.parametrize("value", NASTY)
def test_vcard_fields_survive_vobject(value):
    text = card(
        first_name=value,
        last_name="O'Brien; Jr",
        company=value,
        emails=["a@b.example", ""],
        phones=[("+1 (512) 555-0100", True), ("", False), ("+44 20 7946 0958", False)],
        street=value,
        city="Austin, TX",
        country="USA",
        birthday=date(1970, 3, 8),
        categories=["Buyer, first time", "", "VIP"],
        note=value,
        revised=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    )
    c = vobject.readOne(text)
    expected = unix_newlines(value)
    assert c.n.value.given == expected
    assert c.n.value.family == "O'Brien; Jr"
    assert c.fn.value == f"{expected} O'Brien; Jr"
    assert c.org.value == [expected]
    assert c.note.value == expected
    assert c.adr.value.street == expected
    assert c.adr.value.city == "Austin, TX"
    assert [e.value for e in c.email_list] == ["a@b.example"]
    assert [t.value for t in c.tel_list] == ["+1 (512) 555-0100", "+44 20 7946 0958"]
    assert c.categories.value == ["Buyer, first time", "VIP"]
    assert c.bday.value == "1970-03-08"


def test_vcard_without_any_name_has_a_full_name():
    assert vobject.readOne(card(emails=["only@mail.example"])).fn.value == "only@mail.example"
    assert vobject.readOne(card()).fn.value == "(no name)"


def _types(prop) -> list[str]:
    return [t.upper() for t in prop.params.get("TYPE", [])]


def test_the_first_email_and_the_first_phone_are_preferred():
    c = vobject.readOne(
        card(
            first_name="Ann",
            emails=["", "second@x.example", "third@x.example"],
            phones=[("", True), ("+1 555 0100", False), ("+1 555 0101", True)],
        )
    )
    assert [(e.value, "PREF" in _types(e)) for e in c.email_list] == [
        ("second@x.example", True),
        ("third@x.example", False),
    ]
    assert [(t.value, "PREF" in _types(t)) for t in c.tel_list] == [("+1 555 0100", True), ("+1 555 0101", False)]
    assert _types(c.tel_list[0]) == ["VOICE", "PREF"] and _types(c.tel_list[1]) == ["CELL"]
    assert _types(c.email_list[0]) == ["INTERNET", "PREF"]


def test_a_company_without_a_personal_name_is_a_company_card():
    c = vobject.readOne(card(company="Acme; Sons, Ltd", emails=["info@acme.example"]))
    assert c.fn.value == "Acme; Sons, Ltd"
    assert c.n.value.family == "Acme; Sons, Ltd" and c.n.value.given == ""
    assert c.org.value == ["Acme; Sons, Ltd"]
    assert c.contents["x-abshowas"][0].value == "COMPANY"
    person = vobject.readOne(card(first_name="Ann", company="Acme"))
    assert person.fn.value == "Ann" and "x-abshowas" not in person.contents
    assert vobject.readOne(card(last_name="Lee", company="Acme")).n.value.family == "Lee"


def test_many_cards_parse_as_many():
    text = "".join(card(uid=vformat.uid(1, "contact", i), first_name=NASTY[i % len(NASTY)]) for i in range(30))
    cards = list(vobject.readComponents(text))
    assert len(cards) == 30
    assert [c.uid.value for c in cards] == [vformat.uid(1, "contact", i) for i in range(30)]


def calendar(objects: list[str]) -> icalendar.Calendar:
    text = vformat.calendar_begin("Appointments") + "".join(objects) + vformat.calendar_end()
    return icalendar.Calendar.from_ical(text.encode("utf-8"))


START = datetime(2025, 6, 1, 9, 30, tzinfo=timezone.utc)
STAMP = vformat.utc_stamp(datetime(2025, 1, 1, tzinfo=timezone.utc))


@pytest.mark.parametrize("value", NASTY)
def test_events_survive_icalendar(value):
    cal = calendar(
        [
            vformat.vevent(
                uid=vformat.uid(1, "appointment", 7),
                stamp=STAMP,
                start=START,
                end="2025-06-01 10:15:00.000000",
                summary=value,
                description=f"With {value}",
                colour="Teal",
            )
        ]
    )
    [ev] = cal.walk("VEVENT")
    assert str(ev["SUMMARY"]) == unix_newlines(value)
    assert str(ev["DESCRIPTION"]) == unix_newlines(f"With {value}")
    assert ev.decoded("DTSTART") == START
    assert ev.decoded("DTEND") == datetime(2025, 6, 1, 10, 15, tzinfo=timezone.utc)
    assert str(ev["UID"]) == vformat.uid(1, "appointment", 7)
    assert str(ev["COLOR"]) == "teal"
    assert str(cal["X-WR-CALNAME"]) == "Appointments"


@pytest.mark.parametrize("value", NASTY)
def test_todos_survive_icalendar(value):
    cal = calendar(
        [
            vformat.vtodo(
                uid="t1",
                stamp=STAMP,
                summary=value,
                description=value,
                priority=1,
                due=date(2025, 2, 3),
                category="Phone Call",
                completed=START,
                done=True,
            ),
            vformat.vtodo(uid="t2", stamp=STAMP, summary="open one", priority=5, due="2025-02-04"),
        ]
    )
    done, open_ = cal.walk("VTODO")
    assert str(done["SUMMARY"]) == unix_newlines(value)
    assert str(done["DESCRIPTION"]) == unix_newlines(value)
    assert done["PRIORITY"] == 1 and open_["PRIORITY"] == 9
    assert done.decoded("DUE") == date(2025, 2, 3) and open_.decoded("DUE") == date(2025, 2, 4)
    assert str(done["STATUS"]) == "COMPLETED" and str(open_["STATUS"]) == "NEEDS-ACTION"
    assert done.decoded("COMPLETED") == START
    assert "COMPLETED" not in open_


def test_utc_stamp_of_text_and_datetimes():
    assert vformat.utc_stamp("2025-01-07 09:30:05.000000") == "20250107T093005Z"
    assert vformat.utc_stamp("2025-01-07T09:30:05+00:00") == "20250107T093005Z"
    from datetime import timedelta

    eastern = timezone(timedelta(hours=-5))
    assert vformat.utc_stamp(datetime(2025, 1, 7, 4, 30, 5, tzinfo=eastern)) == "20250107T093005Z"
