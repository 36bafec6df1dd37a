"""The read queries behind the lists: keyset paging, search, scoping, details."""

from __future__ import annotations

import pytest
from conftest import ADMIN, OTHER_OWNER, OWNER, PLAYER, pin_clock, sign_in
from sqlalchemy import insert, select
from sqlalchemy.orm import Session


def names_in_db(engine, account_id, query=None):
    from crm_tui.models import Contact

    with engine.connect() as conn:
        rows = conn.execute(
            select(Contact.last_name, Contact.first_name, Contact.id).where(Contact.account_id == account_id)
        ).all()
    return sorted(tuple(r) for r in rows)


def walk_forward(engine, who, limit, query=""):
    from crm_tui.services import records

    page = records.contacts_page(engine, who, limit=limit, query=query)
    pages = [page]
    while page.has_next:
        page = records.contacts_page(engine, who, after=page.last_key, limit=limit, query=query)
        pages.append(page)
    return pages


@pytest.mark.parametrize("limit", [1, 7, 60, 100])
def test_keyset_pages_return_every_contact_once_in_order(demo_engine, limit):
    who = sign_in(demo_engine, OWNER)
    pages = walk_forward(demo_engine, who, limit)
    keys = [r.key for p in pages for r in p.rows]
    assert keys == names_in_db(demo_engine, who.account_id)
    assert len(keys) == 60 and len(set(keys)) == 60
    assert all(p.total == 60 for p in pages)
    assert not pages[0].has_prev and not pages[-1].has_next
    assert all(len(p.rows) == limit for p in pages[:-1])


def test_paging_backwards_mirrors_paging_forwards(demo_engine):
    from crm_tui.services import records

    who = sign_in(demo_engine, ADMIN)
    forward = walk_forward(demo_engine, who, 7)
    page = records.contacts_page(demo_engine, who, last=True, limit=7)
    backward = [page]
    while page.has_prev:
        page = records.contacts_page(demo_engine, who, before=page.first_key, limit=7)
        backward.append(page)
    keys_back = [r.key for p in reversed(backward) for r in p.rows]
    assert keys_back == [r.key for p in forward for r in p.rows]
    # the last page holds the last 60 % 7 = 4 rows; going back from it returns full pages
    assert len(backward[0].rows) == 7 and backward[0].has_prev and not backward[0].has_next
    # a page before the second page is the first page
    second = forward[1]
    again = records.contacts_page(demo_engine, who, before=second.first_key, limit=7)
    assert again.rows == forward[0].rows and not again.has_prev and again.has_next


def test_equal_names_are_ordered_by_id_and_none_is_lost(engine):
    from crm_tui.models import Contact
    from crm_tui.services import demo

    demo.create(engine, contacts=5, seed=3)
    who = sign_in(engine, OWNER)
    with engine.begin() as conn:
        from crm_tui.services import clock

        conn.execute(
            insert(Contact.__table__),
            [
                {
                    "account_id": who.account_id,
                    "owner_id": who.member_id,
                    "first_name": "Ann",
                    "last_name": "Same",
                    "created_at": clock.now(),
                }
                for _ in range(25)
            ],
        )
    keys = [r.key for p in walk_forward(engine, who, 4) for r in p.rows]
    assert keys == names_in_db(engine, who.account_id)
    assert len(keys) == 30
    same = [k for k in keys if k[0] == "Same"]
    assert [k[2] for k in same] == sorted(k[2] for k in same)


def test_pages_never_show_another_accounts_contacts(demo_engine):
    from crm_tui.models import Contact
    from crm_tui.services import records

    birch = sign_in(demo_engine, OTHER_OWNER)
    ids = {r.id for p in walk_forward(demo_engine, birch, 3) for r in p.rows}
    with demo_engine.connect() as conn:
        mine = set(conn.execute(select(Contact.id).where(Contact.account_id == birch.account_id)).scalars())
    assert ids == mine and len(ids) == 6
    acme = sign_in(demo_engine, OWNER)
    some_acme_id = records.contacts_page(demo_engine, acme, limit=1).rows[0].id
    from crm_tui.services.errors import NotFound

    with pytest.raises(NotFound):
        records.contact_detail(demo_engine, birch, some_acme_id)


def test_search_matches_name_email_company_case_insensitively(demo_engine):
    from crm_tui.models import Contact
    from crm_tui.services import records

    who = sign_in(demo_engine, PLAYER)
    with Session(demo_engine) as s:
        contacts = s.execute(select(Contact).where(Contact.account_id == who.account_id)).scalars().all()
    target = contacts[10]

    def expect(pred):
        return sorted((c.last_name, c.first_name, c.id) for c in contacts if pred(c))

    # a last-name fragment, lower case
    frag = target.last_name[1:4].lower()
    got = [r.key for p in walk_forward(demo_engine, who, 5, query=frag) for r in p.rows]
    assert got == expect(lambda c: any(frag in f.lower() for f in (c.first_name, c.last_name, c.email, c.company)))
    assert (target.last_name, target.first_name, target.id) in got
    # the exact email finds exactly that contact; the total says so
    page = records.contacts_page(demo_engine, who, query=target.email.upper())
    assert [r.id for r in page.rows] == [target.id] and page.total == 1
    # two terms must both match: first name and company
    with_company = next(c for c in contacts if c.company)
    q = f"{with_company.first_name} {with_company.company.split()[0]}"
    got = [r.id for r in records.contacts_page(demo_engine, who, query=q, limit=1000).rows]
    terms = q.lower().split()
    assert got and with_company.id in got
    assert sorted(got) == sorted(
        c.id
        for c in contacts
        if all(any(t in f.lower() for f in (c.first_name, c.last_name, c.email, c.company)) for t in terms)
    )
    # LIKE wildcards are literal
    assert records.contacts_page(demo_engine, who, query="%").total == 0
    assert records.contacts_page(demo_engine, who, query="_").total == 0
    assert records.contacts_page(demo_engine, who, query="zzzz-nobody").rows == ()


def test_a_search_for_wildcards_and_backslashes_finds_them_literally(demo_engine):
    from crm_tui.models import Contact
    from crm_tui.services import records

    who = sign_in(demo_engine, PLAYER)
    with Session(demo_engine) as s:
        target = s.execute(select(Contact).where(Contact.account_id == who.account_id).limit(1)).scalar_one()
        target.company = "50% Off_Sales \\ Co"
        s.commit()
        target_id = target.id
    for query in ("50%", "off_s", "\\", "% off_sales \\ c"):
        page = records.contacts_page(demo_engine, who, query=query)
        assert [r.id for r in page.rows] == [target_id], query
    assert records.contacts_page(demo_engine, who, query="5_%").total == 0


def test_contact_detail_has_every_field(demo_engine):
    from crm_tui.models import Contact, HistoryEntry
    from crm_tui.services import records

    who = sign_in(demo_engine, OWNER)
    with Session(demo_engine) as s:
        c = (
            s.execute(
                select(Contact).where(
                    Contact.account_id == who.account_id, Contact.phone2 != "", Contact.birthday.is_not(None)
                )
            )
            .scalars()
            .first()
        )
        n_history = len(s.execute(select(HistoryEntry.id).where(HistoryEntry.contact_id == c.id)).all())
    d = records.contact_detail(demo_engine, who, c.id)
    assert (d.first_name, d.last_name, d.email, d.company) == (c.first_name, c.last_name, c.email, c.company)
    assert [(p.number, p.text_ok) for p in d.phones] == [(c.phone1, c.phone1_text_ok), (c.phone2, c.phone2_text_ok)]
    assert (d.street, d.city, d.state, d.postal_code, d.country) == (
        c.street,
        c.city,
        c.state,
        c.postal_code,
        c.country,
    )
    assert d.birthday == c.birthday and d.notes == c.notes
    assert d.categories == tuple(x for x in (c.category1, c.category2) if x)
    assert d.history_total == n_history == len(d.history)


def test_lists_are_scoped_and_ordered(demo_engine, monkeypatch):
    from crm_tui.services import clock, records

    pin_clock(monkeypatch, "2026-11-27T10:00:00+00:00")
    who = sign_in(demo_engine, OWNER)
    appts = records.appointments(demo_engine, who)
    assert len(appts.rows) == appts.total > 0
    up = [a for a in appts.rows if a.upcoming]
    past = [a for a in appts.rows if not a.upcoming]
    assert appts.rows[: len(up)] == tuple(up) and len(up) == appts.upcoming
    assert all(a.start >= clock.now() for a in up) and all(a.start < clock.now() for a in past)
    assert [a.start for a in up] == sorted(a.start for a in up)
    assert [a.start for a in past] == sorted((a.start for a in past), reverse=True)

    open_ = records.todos(demo_engine, who, "open")
    closed = records.todos(demo_engine, who, "closed")
    assert {t.status for t in open_.rows} == {"open"} and {t.status for t in closed.rows} == {"closed"}
    assert open_.open == len(open_.rows) and closed.closed == len(closed.rows) == open_.closed
    with pytest.raises(Exception, match="open or closed"):
        records.todos(demo_engine, who, "maybe")

    tpls = records.templates(demo_engine, who)
    assert len(tpls) == 8
    welcome = next(t for t in tpls if t.name == "Market update")
    assert welcome.text == "Hi {{first_name}},\n\nPrices in your area moved 2% this month."
    ars = records.autoresponders(demo_engine, who)
    assert [a.name for a in ars] == ["New buyer lead", "Open house follow-up", "Past client nurture"]
    nurture = ars[2]
    assert [(s.position, s.delay, s.unit) for s in nurture.steps] == [
        (1, 30, "days"),
        (2, 90, "days"),
        (3, 180, "days"),
        (4, 365, "days"),
    ]
    assert all(s.template in {t.name for t in tpls} for a in ars for s in a.steps)

    birch = sign_in(demo_engine, OTHER_OWNER)
    assert not {t.id for t in records.templates(demo_engine, birch)} & {t.id for t in tpls}


def test_a_removed_member_reads_nothing(demo_engine):
    from crm_tui.services import records, team
    from crm_tui.services.errors import NotFound

    owner = sign_in(demo_engine, OWNER)
    player = sign_in(demo_engine, PLAYER)
    team.remove_member(demo_engine, owner, player.member_id)
    with pytest.raises(NotFound):
        records.contacts_page(demo_engine, player)
    with pytest.raises(NotFound):
        records.templates(demo_engine, player)


def test_html_to_text():
    from crm_tui.services.records import html_to_text

    assert (
        html_to_text("<p>a &amp; b</p><ul><li>one</li><li>two</li></ul><style>x{}</style>") == "a & b\n\n• one\n\n• two"
    )
    assert html_to_text("plain [bold]x") == "plain [bold]x"
    assert html_to_text("") == ""


def test_search_pages_forwards_and_backwards(demo_engine):
    from crm_tui.services import records

    who = sign_in(demo_engine, OWNER)
    everything = records.contacts_page(demo_engine, who, query="a", limit=1000)
    assert 0 < everything.total == len(everything.rows) < 60
    forward = walk_forward(demo_engine, who, 4, query="a")
    assert [r.key for p in forward for r in p.rows] == [r.key for r in everything.rows]
    # later pages reuse the total they are given instead of counting again
    nxt = records.contacts_page(demo_engine, who, query="a", after=forward[0].last_key, limit=4, total=999)
    assert nxt.total == 999 and nxt.rows == forward[1].rows
    page = records.contacts_page(demo_engine, who, query="a", last=True, limit=4)
    back = [page]
    while page.has_prev:
        page = records.contacts_page(demo_engine, who, query="a", before=page.first_key, limit=4)
        back.append(page)
    assert [r.key for p in reversed(back) for r in p.rows] == [r.key for r in everything.rows]
    assert records.all_contact_ids(demo_engine, who, "a") == [r.id for r in everything.rows]
    with pytest.raises(Exception, match="at most"):
        records.contacts_page(demo_engine, who, query="x" * 10_000)
