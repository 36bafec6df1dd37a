"""One contact with every field: phones (and whether each may receive texts), address,
birthday, categories, notes, and the latest history."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from crm_tui.text import plural
from crm_tui.tui.base import SectionScreen
from crm_tui.tui.safe import safe


class ContactDetailScreen(SectionScreen):
    SECTION = "contacts"
    CSS_PATH = "contact_detail.tcss"

    def __init__(self, contact_id: int) -> None:
        super().__init__()
        self.contact_id = contact_id

    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with VerticalScroll(classes="page", id="detail-scroll"):
            yield Static("Contact", classes="page-title", id="detail-title")
            yield Static("Loading…", classes="detail-block", id="detail-main")
            yield Static("Notes", classes="detail-head")
            yield Static("", classes="detail-block", id="detail-notes")
            yield Static("History", classes="detail-head")
            yield Static("", classes="detail-block", id="detail-history")
        yield Footer()

    def on_mount(self) -> None:
        from crm_tui.services import records

        self.query_one("#detail-scroll").focus()
        self.call_service(
            records.contact_detail,
            self.crm.engine,
            self.crm.who,
            self.contact_id,
            done=self.show,
            group="contact-detail",
        )

    def show(self, d) -> None:
        from crm_tui.services.zones import date_of, time_text

        zone = self.zone
        self.query_one("#detail-title", Static).update(safe(d.name or "(no name)", limit=200, style="bold"))
        lines = []

        def field(label: str, value: str) -> None:
            lines.append(f"{label:<11} {value or '—'}")

        field("Company", d.company)
        field("Email", d.email)
        if d.email2:
            field("Email 2", d.email2)
        if d.phones:
            for i, p in enumerate(d.phones, 1):
                field(f"Phone {i}", f"{p.number}   {'texts OK' if p.text_ok else 'no texts'}")
        else:
            field("Phone", "")
        address = ", ".join(
            x for x in (d.street, d.city, " ".join(y for y in (d.state, d.postal_code) if y), d.country) if x
        )
        field("Address", address)
        field("Birthday", d.birthday.strftime("%d %B %Y") if d.birthday else "")
        field("Categories", ", ".join(d.categories))
        from crm_tui.tui.widgets.record_table import fit_text

        field("Owner", fit_text(d.owner, 60))
        field("Added", f"{date_of(d.created_at, zone):%d %b %Y}")
        self.query_one("#detail-main", Static).update(safe("\n".join(lines), multiline=True))
        self.query_one("#detail-notes", Static).update(safe(d.notes or "No notes.", multiline=True, limit=20_000))
        history = [
            f"{time_text(h.at, zone, year=True)}  {h.kind:<5}  {h.summary}" + (f"  ({h.member})" if h.member else "")
            for h in d.history
        ]
        if d.history_total > len(d.history):
            history.append(f"… and {plural(d.history_total - len(d.history), 'earlier entry')}")
        self.query_one("#detail-history", Static).update(
            safe("\n".join(history) or "No history.", multiline=True, limit=20_000)
        )
