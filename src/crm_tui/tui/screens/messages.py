"""Automation → Messages → Settings: the SMS add-on, and its permanent cancellation
(owner only; administrators see the settings)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Static

from crm_tui.text import noun, plural
from crm_tui.tui.base import SectionScreen
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.confirm import ConfirmModal
from crm_tui.tui.widgets.keys import quiet_nav_bindings


class MessagesScreen(SectionScreen):
    SECTION = "automation"
    CSS_PATH = "messages.tcss"
    BINDINGS = quiet_nav_bindings() + [Binding("x", "cancel_messages", "Cancel Messages…", id="messages-cancel")]

    def __init__(self) -> None:
        super().__init__()
        self.settings = None

    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with VerticalScroll(classes="page"):
            yield Static("Automation → Messages → Settings", classes="page-title")
            yield Static("Loading…", id="messages-settings")
            yield Static("", id="twilio-note")
            with Horizontal(id="danger-zone"):
                yield Button(
                    "Permanently Cancel Messages", id="cancel-messages", variant="error", compact=True, disabled=True
                )
                yield Static("", id="danger-note")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        from crm_tui.services import messages

        self.call_service(messages.settings, self.crm.engine, self.crm.who, done=self.show, group="messages")

    def may_cancel(self) -> bool:
        return self.may("messages.cancel")

    def can_cancel(self) -> bool:
        return self.may_cancel() and self.settings is not None and self.settings.status == "active"

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "cancel_messages":
            return self.can_cancel()
        return True

    def show(self, st) -> None:
        from crm_tui.services.billing import money
        from crm_tui.services.zones import time_text

        self.settings = st
        status = {"active": "Active", "cancelled": "Cancelled", "none": "Not set up"}.get(st.status, st.status)
        lines = [f"Status:         {status}"]
        if st.status != "none":
            lines.append(f"Phone number:   {st.phone_number or '—'}")
            lines.append(
                f"Monthly fee:    {money(st.monthly_fee_cents)}"
                + ("  (removed from billing)" if st.status == "cancelled" else "")
            )
            lines.append(f"Messages:       {st.sent:,} sent, {st.received:,} received")
            if st.activated_at:
                lines.append(f"Active since:   {time_text(st.activated_at, self.zone, year=True)}")
            if st.cancelled_at:
                lines.append(f"Cancelled on:   {time_text(st.cancelled_at, self.zone, year=True)}")
        self.query_one("#messages-settings", Static).update(safe("\n".join(lines), multiline=True))
        twilio = self.query_one("#twilio-note", Static)
        twilio.update(safe(st.twilio_note, multiline=True))
        twilio.display = st.status != "none"  # no phone number to cancel when it was never set up
        button = self.query_one("#cancel-messages", Button)
        button.display = self.may_cancel() and st.status != "none"
        button.disabled = not self.can_cancel()
        if not self.may_cancel():
            note = "Only the account owner can cancel Messages."
        elif st.status == "active":
            note = "Deletes every text message and removes the add-on from billing. Cannot be undone."
        elif st.status == "none":
            note = "Messages is not set up for this account: nothing to cancel."
        else:
            note = "Messages is not active."
        self.query_one("#danger-note", Static).update(note)
        self.refresh_bindings()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel-messages":
            self.action_cancel_messages()

    def action_cancel_messages(self) -> None:
        if not self.can_cancel():
            return
        from crm_tui.services import messages
        from crm_tui.services.billing import money

        st = self.settings
        engine, who = self.crm.engine, self.crm.who
        total = st.sent + st.received
        body = safe(
            "Permanently cancel Messages?\n\n"
            f"  • {plural(total, 'text message')} (sent and received) {noun(total, 'is', 'are')} deleted for good\n"
            f"  • the {money(st.monthly_fee_cents)}/month add-on is removed from billing\n\n"
            f"{st.twilio_note}\n\nEnter your password to confirm.",
            multiline=True,
        )

        def cancelled(result) -> None:
            if result is None:
                return
            self.load()
            self.app.notify(
                safe(
                    f"Messages cancelled: {plural(result.messages_deleted, 'text message')} deleted. "
                    f"Remember to cancel {result.phone_number} in Twilio."
                ),
                timeout=10,
            )

        self.app.push_screen(
            ConfirmModal(
                "Permanently Cancel Messages",
                body,
                "Permanently cancel",
                lambda pw: messages.cancel(engine, who, pw),
                password=True,
            ),
            cancelled,
        )
