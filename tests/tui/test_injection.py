"""Hostile text in every field a user can fill: markup, ESC sequences, NUL, right-to-left
text and 10,000 characters. Every screen opens, shows the text literally, and no raw ESC
reaches the terminal."""

from __future__ import annotations

from datetime import date

from conftest import OWNER
from pilot_kit import press, run, settle, sign_in, static_text, table_text  # noqa: F401
from sqlalchemy import insert, select, update

SIZE = (80, 24)
NASTY = ["[/", "[bold]x", "[0]", "[link=x]y[/link]", "\x1b[31mred", "\x00nul", "שלום \u202eevil", "Z" * 10_000]


def seed(url: str) -> None:
    from crm_tui import db
    from crm_tui.models import (
        Account,
        Appointment,
        Autoresponder,
        AutoresponderStep,
        Contact,
        EmailTemplate,
        HistoryEntry,
        Member,
        Todo,
    )
    from crm_tui.services import clock

    engine = db.get_engine(url)
    now = clock.now()
    with db.write_session(engine) as s:
        acc = s.execute(select(Account.id).where(Account.name == "Acme Realty")).scalar_one()
        owner = s.execute(select(Member.id).where(Member.email == OWNER)).scalar_one()
        # "A…" sorts these first in the contact list
        ids = []
        for i, text in enumerate(NASTY):
            if engine.dialect.name != "sqlite":
                text = text.replace("\x00", "")  # PostgreSQL cannot store a NUL (typed ones are refused)
            ids.append(
                s.execute(
                    insert(Contact).values(
                        account_id=acc,
                        owner_id=owner,
                        last_name=f"AAA{i} {text}",
                        first_name=text,
                        company=text,
                        email=text,
                        phone1=text,
                        city=text,
                        notes=text,
                        category1=text,
                        created_at=now,
                    )
                ).inserted_primary_key[0]
            )
            tid = s.execute(
                insert(EmailTemplate).values(account_id=acc, name=f"A{i} {text}", subject=text, body=f"<p>{text}</p>")
            ).inserted_primary_key[0]
            rid = s.execute(insert(Autoresponder).values(account_id=acc, name=f"A{i} {text}")).inserted_primary_key[0]
            s.execute(
                insert(AutoresponderStep).values(
                    account_id=acc, autoresponder_id=rid, position=1, delay=1, unit="days", template_id=tid
                )
            )
            s.execute(
                insert(HistoryEntry).values(
                    account_id=acc, contact_id=ids[0], member_id=owner, kind="note", at=now, summary=text
                )
            )
            s.execute(
                insert(Appointment).values(
                    account_id=acc,
                    owner_id=owner,
                    contact_id=ids[i],
                    description=text,
                    start=now.replace(year=now.year + 1, second=i),
                    end=now.replace(year=now.year + 1, hour=23),
                )
            )
            s.execute(
                insert(Todo).values(
                    account_id=acc,
                    assignee_id=owner,
                    contact_id=ids[i],
                    summary=text,
                    category=text,
                    priority=1,
                    due=date(2000, 1, 1 + i),
                )
            )
        s.execute(update(Member).where(Member.email == "priya@acme-realty.example").values(name="[bold]x \x1b[2J"))


def terminal_text(app) -> str:
    return "\n".join("".join(seg.text for seg in line) for line in app.screen._compositor.render_strips())


def all_cells(app) -> str:
    return "\n".join("\t".join(r) for r in table_text(app.screen))


@run
async def test_hostile_text_is_shown_literally_on_every_screen(demo_url):
    from crm_tui.tui.app import CrmApp

    seed(demo_url)
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        seen = {}

        def check(name: str, text: str) -> None:
            screen_text = terminal_text(app)
            assert "\x1b" not in screen_text and "\x00" not in screen_text, name
            seen[name] = text

        check("dashboard", static_text(app.screen, "#next-todos"))
        assert "[bold]x" in seen["dashboard"] and "␛[31mred" in seen["dashboard"]

        await press(pilot, "1")
        cells = all_cells(app)
        check("contacts", cells)
        nul = "␀nul" if app.engine.dialect.name == "sqlite" else "nul"  # PostgreSQL held no NUL
        for literal in ("[/", "[bold]x", "[0]", "[link=x]y[/link]", "␛[31mred", nul):
            assert literal in cells, literal
        assert "Z" * 12 + "…" in cells  # a 10,000-character name is shown, cut to its column, not dropped
        assert "[bold]x" in terminal_text(app)  # and the brackets reach the terminal as text

        await press(pilot, "enter")  # the first contact: AAA0 "[/", with all the history
        detail = static_text(app.screen, "#detail-main") + static_text(app.screen, "#detail-history")
        check("contact detail", detail)
        assert "[link=x]y[/link]" in detail and "␛[31mred" in detail and "\u202e" not in detail
        await press(pilot, "escape")

        await press(pilot, "slash", *"[bold]", "enter")  # a search for markup is a search for text
        assert any("[bold]x" in r[1] for r in table_text(app.screen))
        check("contacts search", all_cells(app))

        await press(pilot, "2")
        check("calendar", all_cells(app))
        assert "[bold]x" in seen["calendar"] and "[link=x]y[/link]" in seen["calendar"]
        await press(pilot, "3")
        check("to-dos", all_cells(app))
        assert "[0]" in seen["to-dos"] and "␛[31mred" in seen["to-dos"]

        await press(pilot, "4", "enter")
        check("templates", all_cells(app))
        await press(pilot, "down")  # "A1 [bold]x"
        preview = static_text(app.screen, "#template-body")
        check("template preview", preview)
        assert "Subject: [bold]x" in preview
        await press(pilot, "escape", "down", "enter")
        check("autoresponders", all_cells(app))
        await press(pilot, "down", "down", "down")
        steps = static_text(app.screen, "#steps-body")
        check("autoresponder steps", steps)
        assert "[link=x]y[/link]" in steps
        await press(pilot, "escape", "down", "enter")  # the menu keeps its place: Messages is next
        check("messages", static_text(app.screen, "#messages-settings"))

        await press(pilot, "p", "down", "down", "enter")
        assert type(app.screen).__name__ == "TeamScreen"
        check("team", all_cells(app))
        assert "[bold]x ␛[2J" in seen["team"]
        await press(pilot, "down", "down", "r")
        check("remove dialog", str(app.screen.query_one("#confirm-body Static").visual))
        assert "[bold]x ␛[2J" in seen["remove dialog"]
        await press(pilot, "escape")
        await settle(pilot)
        assert len(seen) == 13
