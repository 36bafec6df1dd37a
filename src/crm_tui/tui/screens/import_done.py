"""An archive was imported: what came back, and each team member's one-time temporary
password (shown here once, never stored in clear); then back to sign in."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, Static

from crm_tui.tui.base import CrmScreen
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.form_input import FormButton


def result_text(result) -> str:
    from crm_tui.services.archive import KIND_LABELS

    total = sum(result.counts.values())
    lines = [
        f"“{result.account_name}” is a new account, {total:,} records. You ({result.owner_email}) are its owner.",
        "",
    ]
    cells = [f"{n:>9,}  {KIND_LABELS.get(kind, kind)}" for kind, n in result.counts.items()]
    half = (len(cells) + 1) // 2
    for left, right in zip(cells[:half], cells[half:] + [""], strict=False):
        lines.append(f"{left:<34}{right}".rstrip())
    return "\n".join(lines)


def passwords_text(result) -> str:
    if not result.members:
        return "No team members came back."
    lines = ["Hand each team member their temporary password. They are shown only now:"]
    lines += [f"  {m.email:<34} {m.password}  {m.role}" for m in result.members]
    return "\n".join(lines)


def not_members_text(result) -> str:
    if not result.not_members:
        return ""
    lines = [
        "Not back as team members (the email already belongs to another account); "
        "their contacts, appointments, to-dos and history are yours now:"
    ]
    lines += [f"  {address}" for address in result.not_members]
    return "\n".join(lines)


class ImportDoneScreen(CrmScreen):
    BINDINGS = [Binding("escape", "sign_in", "Sign in", id="back")]
    CSS_PATH = "import_done.tcss"

    def __init__(self, result) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        yield Static("Archive imported", id="import-done-title")
        with VerticalScroll(id="import-done-body"):
            yield Static(safe(result_text(self.result), multiline=True), id="import-done-summary")
            yield Static(safe(passwords_text(self.result), multiline=True), id="import-done-passwords")
            yield Static(safe(not_members_text(self.result), multiline=True), id="import-done-others")
            with Horizontal(id="import-done-actions"):
                yield FormButton("Sign in", id="import-done-sign-in", variant="primary", compact=True, deliberate=True)
        yield Footer()

    _shown_at = float("inf")

    def on_mount(self, event: events.Mount) -> None:
        self._shown_at = event.time
        self.query_one("#import-done-sign-in", Button).focus()

    def on_key(self, event: events.Key) -> None:
        """A key typed while the import ran (Esc meant for the form) must not take the
        passwords away before they were seen: only keys pressed once they show count."""
        if event.time < self._shown_at:
            event.stop()
            event.prevent_default()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "import-done-sign-in":
            self.action_sign_in()

    def action_sign_in(self) -> None:
        """Back to the sign-in screen, the new owner's email filled in."""
        email = self.result.owner_email
        self.app.pop_screen()
        signin = self.app.screen
        signin.query_one("#email", Input).value = email
        signin.query_one("#password", Input).value = ""
        signin.query_one("#password", Input).focus()
        message = signin.query_one("#signin-message", Static)
        message.update(safe("Account imported. Sign in with your new password."))
        message.set_class(False, "-error")
