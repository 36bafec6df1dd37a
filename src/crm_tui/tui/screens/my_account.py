"""My Account: who is signed in, and in which account; the command-line sessions
(``crm-tui login``) the member has, each of which ``x`` ends."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from crm_tui.tui.base import SectionScreen
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.keys import quiet_nav_bindings
from crm_tui.tui.widgets.record_table import RecordTable


class MyAccountScreen(SectionScreen):
    BINDINGS = quiet_nav_bindings() + [
        Binding("x", "revoke", "End session", id="account-revoke-session"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sessions: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        who = self.crm.who
        yield self.compose_top()
        with VerticalScroll(classes="page"):
            yield Static("My Account", classes="page-title")
            yield Static(safe(f"Name:     {who.name}\nEmail:    {who.email}\nRole:     {who.role}\n"
                              f"Account:  {who.account_name}", multiline=True))
            hint = {
                "owner": "As the owner you can reach Billing & Plan from the profile menu (p).",
                "administrator": "Administrators manage the team and Messages; only the owner sees billing.",
                "team player": "Team players work with contacts, calendar and to-dos.",
            }[who.role]
            yield Static(hint, classes="muted")
            yield Static("Command-line sessions", classes="page-title", id="sessions-title")
            yield RecordTable(
                [("where", "Where", 28), ("since", "Signed in (UTC)", 16), ("used", "Last used (UTC)", 16)],
                id="sessions-table",
            )
            yield Static("", id="sessions-status", classes="muted")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        from crm_tui.services import sessions

        self.call_service(sessions.list_for, self.crm.engine, self.crm.who, done=self.show, group="my-sessions")

    def show(self, rows) -> None:
        self.sessions = {str(r.id): r for r in rows}
        table = self.query_one("#sessions-table", RecordTable)
        table.set_records((r.id, (r.label or "command line", f"{r.created_at:%d %b %Y %H:%M}",
                                  f"{r.last_used_at:%d %b %Y %H:%M}")) for r in rows)
        status = self.query_one("#sessions-status", Static)
        if rows:
            status.update("Each ends after 12 hours unused. x ends the one selected (the command line "
                          "then asks for the password, or 'crm-tui login' again).")
        else:
            status.update("None. 'crm-tui login --email ...' lets the command line act as you for 12 hours.")

    def action_revoke(self) -> None:
        from crm_tui.services import sessions

        key = self.query_one("#sessions-table", RecordTable).current_key()
        if key is None or key not in self.sessions:
            return

        def ended(_result) -> None:
            self.app.notify("Session ended.", markup=False)
            self.load()

        self.call_service(sessions.revoke, self.crm.engine, self.crm.who, int(key), done=ended,
                          group="my-sessions-revoke")
