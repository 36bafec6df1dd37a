"""The batch writers (vcards, vevents, vtodos) give exactly the text of the per-object
writers (vcard, vevent, vtodo) called row by row, for awkward values: escapes, long and
multi-byte lines that need folding, empty fields, SQLite's stored text and Python values."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_tui.services import vformat

_awkward = st.sampled_from(
    [
        "",
        "a,b",
        "semi;colon",
        "back\\slash",
        "line\nbreak",
        "cr\r\nlf",
        "\x1b[31mred",
        "Zoë Müller",
        "🎉👩‍👩‍👧",
        "x" * 74,
        "x" * 75,
        "x" * 76,
        "é" * 40,
        "日本語" * 9,
        "y" * 300,
        "(no name)",
        "ends in cr\r",
        "\r",
        "\n",
        "\x01",
        "\x00\x7f",  # a CR meeting the description's blank line; control only
    ]
)
TEXT = st.one_of(_awkward, st.text(max_size=30), st.text(alphabet="abc ,;\\é🎉", max_size=90))
WHEN = st.one_of(
    st.datetimes(min_value=datetime(1900, 1, 1), timezones=st.just(timezone.utc)),
    st.datetimes(min_value=datetime(1900, 1, 1)).map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f")),
)
DAY = st.one_of(st.dates(min_value=date(1900, 1, 1)), st.dates(min_value=date(1900, 1, 1)).map(date.isoformat))
FLAG = st.sampled_from([0, 1, True, False])
STAMP = "20250107T093000Z"

CARDS = st.lists(
    st.tuples(
        st.integers(1, 10**9),
        TEXT,
        TEXT,
        TEXT,
        TEXT,
        TEXT,
        TEXT,
        FLAG,
        TEXT,
        FLAG,
        TEXT,
        FLAG,
        TEXT,
        FLAG,
        TEXT,
        TEXT,
        TEXT,
        TEXT,
        TEXT,
        st.none() | DAY,
        TEXT,
        TEXT,
        TEXT,
        WHEN,
    ),
    max_size=5,
)
EVENTS = st.lists(
    st.tuples(
        st.integers(1, 10**9),
        TEXT,
        WHEN,
        WHEN,
        st.sampled_from(["", "Red", "blue", "bläu", "dark-red", "x y"]),
        st.none() | TEXT,
        st.none() | TEXT,
        st.none() | TEXT,
    ),
    max_size=5,
)
TODOS = st.lists(
    st.tuples(
        st.integers(1, 10**9),
        TEXT,
        TEXT,
        st.sampled_from([1, 3, 5, 2]),
        st.none() | DAY,
        TEXT,
        st.sampled_from(["open", "closed"]),
        st.none() | WHEN,
        st.none() | TEXT,
        st.none() | TEXT,
        st.none() | TEXT,
    ),
    max_size=5,
)


def _who(first, last, email) -> str:
    name = " ".join(p for p in (first, last) if p)
    if email:
        name = f"{name} <{email}>" if name else email
    return f"With {name}" if name else ""


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**6), CARDS)
def test_vcards_is_vcard_row_by_row(account_id, rows):
    assert vformat.vcards(account_id, rows) == cards_one_by_one(account_id, rows)


def cards_one_by_one(account_id, rows) -> str:
    return "".join(
        vformat.vcard(
            uid=vformat.uid(account_id, "contact", r[0]),
            first_name=r[1],
            last_name=r[2],
            company=r[3],
            emails=(r[4], r[5]),
            phones=((r[6], r[7]), (r[8], r[9]), (r[10], r[11]), (r[12], r[13])),
            street=r[14],
            city=r[15],
            state=r[16],
            postal_code=r[17],
            country=r[18],
            birthday=r[19],
            categories=(r[20], r[21]),
            note=r[22],
            revised=r[23],
        )
        for r in rows
    )


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**6), EVENTS)
def test_vevents_is_vevent_row_by_row(account_id, rows):
    assert vformat.vevents(account_id, STAMP, rows) == events_one_by_one(account_id, rows)


def events_one_by_one(account_id, rows) -> str:
    return "".join(
        vformat.vevent(
            uid=vformat.uid(account_id, "appointment", r[0]),
            stamp=STAMP,
            start=r[2],
            end=r[3],
            summary=r[1],
            description=_who(r[5], r[6], r[7]),
            colour=r[4],
        )
        for r in rows
    )


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**6), TODOS)
def test_vtodos_is_vtodo_row_by_row(account_id, rows):
    assert vformat.vtodos(account_id, STAMP, rows) == todos_one_by_one(account_id, rows)


def todos_one_by_one(account_id, rows) -> str:
    return "".join(
        vformat.vtodo(
            uid=vformat.uid(account_id, "todo", r[0]),
            stamp=STAMP,
            summary=r[1],
            description="\n\n".join(p for p in (r[2], _who(r[8], r[9], r[10])) if p),
            priority=r[3],
            due=r[4],
            category=r[5],
            completed=r[7],
            done=r[6] == "closed",
        )
        for r in rows
    )


def test_a_long_line_in_a_batch_is_folded_and_the_others_are_not():
    rows = [
        (
            1,
            "Ann",
            "Lee",
            "",
            "",
            "",
            "",
            0,
            "",
            0,
            "",
            0,
            "",
            0,
            "",
            "",
            "",
            "",
            "",
            None,
            "",
            "",
            "n" * 200,
            "2025-01-07 09:30:00.000000",
        ),
        (
            2,
            "Bo",
            "Ng",
            "",
            "",
            "",
            "",
            0,
            "",
            0,
            "",
            0,
            "",
            0,
            "",
            "",
            "",
            "",
            "",
            None,
            "",
            "",
            "short",
            "2025-01-07 09:30:00.000000",
        ),
    ]
    text = vformat.vcards(7, rows)
    lines = text.encode().split(b"\r\n")
    assert max(map(len, lines)) == 75
    assert "NOTE:short\r\n" in text
    assert text.count("\r\n n") == 2  # 205 octets: 75 + 74 + 56


# Each batch writer folds an object only when one of its lines may pass 75 octets, judging from
# the lengths of the values. Every value is tried at every length around that edge, alone and
# beside a value that is long too, in ASCII and in two-octet characters.
CARD = (
    9,
    "Ann",
    "Lee",
    "Acme",
    "a@x.example",
    "",
    "+1 555",
    1,
    "",
    0,
    "",
    0,
    "",
    0,
    "1 Main St",
    "Austin",
    "TX",
    "78701",
    "US",
    "1990-04-01",
    "vip",
    "",
    "note",
    "2025-01-07 09:30:00.000000",
)
EVENT = (9, "Call", "2025-01-07 09:30:00.000000", "2025-01-07 10:00:00.000000", "Red", "Ann", "Lee", "a@x.example")
TODO = (9, "Call back", "details", 3, "2025-01-07", "calls", "open", None, "Ann", "Lee", "a@x.example")
EDGE = range(40, 82)


def _variants(row, field, char):
    for n in EDGE:
        changed = list(row)
        changed[field] = char * n
        yield tuple(changed)


@pytest.mark.parametrize("char", ["x", "é"])
@pytest.mark.parametrize("field", [i for i, v in enumerate(CARD) if isinstance(v, str) and i not in (19, 23)])
def test_vcards_fold_exactly_where_one_by_one_does(field, char):
    for row in _variants(CARD, field, char):
        assert vformat.vcards(5, [row, CARD]) == cards_one_by_one(5, [row, CARD]), (field, len(row[field]))


@pytest.mark.parametrize("char", ["x", "é"])
@pytest.mark.parametrize("field", [1, 4, 5, 6, 7])
def test_vevents_fold_exactly_where_one_by_one_does(field, char):
    for row in _variants(EVENT, field, char):
        assert vformat.vevents(5, STAMP, [row, EVENT]) == events_one_by_one(5, [row, EVENT]), (field, len(row[field]))


@pytest.mark.parametrize("char", ["x", "é"])
@pytest.mark.parametrize("field", [1, 2, 5, 8, 9, 10])
def test_vtodos_fold_exactly_where_one_by_one_does(field, char):
    for row in _variants(TODO, field, char):
        assert vformat.vtodos(5, STAMP, [row, TODO]) == todos_one_by_one(5, [row, TODO]), (field, len(row[field]))


@pytest.mark.parametrize(
    "changes",
    [
        {1: "", 2: "", 3: "Acme"},  # a company's card
        {1: "", 2: "", 3: "Acme; Sons", 4: ""},  # ... escaped, without an email
        {1: "", 2: "Lee", 3: "Acme"},  # a person with a company
        {1: "", 2: "", 3: "", 4: "", 5: "b@x.example"},  # only the second email: it is the preferred one
        {6: "", 8: "+1 555 0102", 9: 1},  # the first phone is the second field
        {6: "", 8: "", 10: "", 12: "+1 555 0104"},  # ... or the fourth
    ],
)
def test_preferred_and_company_cards_match_one_by_one(changes):
    row = list(CARD)
    for field, value in changes.items():
        row[field] = value
    assert vformat.vcards(5, [tuple(row)]) == cards_one_by_one(5, [tuple(row)])
    assert ",PREF:" in vformat.vcards(5, [tuple(row)])
