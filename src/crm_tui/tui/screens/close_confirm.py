"""The confirmation before closing the account: what is deleted (counts per kind), who loses
access, the Messages/Twilio note, "export first" one key away, the support address and the
warning. The owner types the account name and re-enters the password; focus starts on Cancel,
Esc backs out, and no single key deletes anything."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Input, Label, Static

from crm_tui.tui.base import CrmScreen
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.form_input import FormButton, FormInput

DELETE_LABEL = "Delete account permanently"


class CloseConfirmScreen(CrmScreen):
    BINDINGS = [
        Binding("escape", "back", "Back out", id="back"),
        Binding("e", "export", "Export first", id="close-export"),
        Binding("pagedown", "scroll_info(1)", "More", id="close-page-down"),
        Binding("pageup", "scroll_info(-1)", "Scroll", id="close-page-up", show=False),
    ]
    DEFAULT_CSS = """
    CloseConfirmScreen #close-title {
        height: 1;
        background: $error;
        color: $text;
        text-style: bold;
        padding: 0 1;
    }
    CloseConfirmScreen #close-info { height: 1fr; padding: 0 1; }
    CloseConfirmScreen #close-warning { text-style: bold; color: $text-error; margin: 0 0 1 0; }
    CloseConfirmScreen .close-heading { text-style: bold underline; }
    CloseConfirmScreen .close-block { margin: 0 0 1 0; }
    CloseConfirmScreen #close-form {
        height: auto;
        border-top: heavy $error;
        padding: 0 1;
    }
    CloseConfirmScreen .close-row { height: 1; }
    CloseConfirmScreen .close-label { width: 38; }
    CloseConfirmScreen .close-row Input { width: 1fr; }
    CloseConfirmScreen #close-buttons { height: 1; margin: 1 0 0 0; }
    CloseConfirmScreen #close-buttons Button { margin: 0 2 0 0; }
    CloseConfirmScreen #close-status { height: auto; color: $text-muted; }
    CloseConfirmScreen #close-status.-error { color: $text-error; text-style: bold; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.impact = None
        self.deleting = False

    def compose(self) -> ComposeResult:
        from crm_tui.services.accounts import SUPPORT_EMAIL

        yield Static("Cancel & permanently delete your account", id="close-title")
        # Not focusable: Tab goes from Cancel straight to the name field (page keys scroll this).
        with VerticalScroll(id="close-info", can_focus=False):
            yield Static(
                "Warning: deleting is immediate and cannot be undone here. As soon as you confirm, "
                "the account and all of its data are deleted.",
                id="close-warning",
            )
            yield Static("Loading what would be deleted…", id="close-counts", classes="close-block")
            yield Static("", id="close-team", classes="close-block")
            yield Static("", id="close-messages", classes="close-block")
            yield Static(
                "Export first: press e to download all your data as one archive (contacts, "
                "calendar, to-dos, templates, reports). This screen stays as it is.",
                id="close-export-note", classes="close-block",
            )
            yield Static(
                f"Having problems, or questions about your plan? Write to {SUPPORT_EMAIL} before "
                "you close the account: we may be able to help.\n"
                f"Changed your mind later? Support may restore the account from backups for up to "
                f"3 months after closing ({SUPPORT_EMAIL}); after that the data is gone for good.",
                id="close-support", classes="close-block", markup=False,
            )
        with Vertical(id="close-form"):
            with Horizontal(classes="close-row"):
                yield Label("", id="close-name-label", classes="close-label")
                yield FormInput(id="close-name", compact=True, disabled=True, placeholder="the name, exactly",
                                next_on_enter="#close-password")
            with Horizontal(classes="close-row"):
                yield Label("Your password", classes="close-label")
                yield FormInput(id="close-password", password=True, compact=True, disabled=True,
                                placeholder="re-enter it")
            with Horizontal(id="close-buttons"):
                yield FormButton("Cancel", id="close-cancel", variant="primary", compact=True)
                yield FormButton(DELETE_LABEL, id="close-delete", variant="error", compact=True, disabled=True,
                                 deliberate=True)
            yield Static("", id="close-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#close-cancel", Button).focus()
        from crm_tui.services import accounts

        self.call_service(accounts.impact, self.crm.engine, self.crm.who, done=self.show_impact,
                          failed=lambda m: self.status(f"Cannot prepare the closing: {m}", error=True),
                          group="close-impact")

    def show_impact(self, impact) -> None:
        from crm_tui.services.accounts import TWILIO_NOTE

        self.impact = impact
        total = sum(impact.counts.values())
        lines = [f"What will be deleted ({total:,} records):"]
        cells = [f"{n:>9,}  {label}" for label, n in impact.lines()]
        half = (len(cells) + 1) // 2
        for left, right in zip(cells[:half], cells[half:] + [""]):
            lines.append(f"{left:<34}{right}")
        self.query_one("#close-counts", Static).update(safe("\n".join(lines), multiline=True))

        if impact.members_losing_access:
            team = [f"Team members who lose access ({len(impact.members_losing_access)}):"]
            from crm_tui.tui.widgets.record_table import fit_text

            team += [f"  • {fit_text(m.name, 24)} <{fit_text(m.email, 30)}> — {m.role}"
                     for m in impact.members_losing_access]
            team.append("To end only one person's access, remove them in Team Members instead.")
        else:
            team = ["No team members: nobody else loses access."]
        self.query_one("#close-team", Static).update(safe("\n".join(team), multiline=True))

        messages = self.query_one("#close-messages", Static)
        if impact.messages_active:
            phone = f" ({impact.messages_phone})" if impact.messages_phone else ""
            messages.update(safe(f"Messages is active{phone}: it stops and its text-message history is "
                                 f"deleted. {TWILIO_NOTE}"))
        else:
            messages.display = False

        self.query_one("#close-name-label", Label).update(
            safe(f"Type the account name: {impact.account_name}", limit=37))
        self.query_one("#close-name", Input).disabled = False
        self.query_one("#close-password", Input).disabled = False

    # --- the form ---------------------------------------------------------------------------

    def name_matches(self) -> bool:
        return self.impact is not None and self.query_one("#close-name", Input).value == self.impact.account_name

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "close-name" and not self.deleting:
            self.query_one("#close-delete", Button).disabled = not self.name_matches()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # Enter only moves on: deleting always takes a deliberate press of the delete button
        # (the name field's Enter moves to the password field itself, see FormInput).
        if event.input.id == "close-password":
            delete = self.query_one("#close-delete", Button)
            if delete.disabled:
                self.status("The account name you typed does not match yet.", error=True)
                self.query_one("#close-name", Input).focus()
            else:
                delete.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "close-cancel":
            self.action_back()
        elif event.button.id == "close-delete":
            self.delete()

    def delete(self) -> None:
        if self.deleting or not self.name_matches():
            return
        password = self.query_one("#close-password", Input).value
        if not password:
            self.status("Enter your password to confirm.", error=True)
            self.query_one("#close-password", Input).focus()
            return
        from crm_tui.services import closing

        self.set_deleting(True)
        self.status("Deleting… writing the backup, then removing every record. Please wait.")
        self.call_service(closing.close_account, self.crm.engine, self.crm.who,
                          self.query_one("#close-name", Input).value, password,
                          done=self.closed, failed=self.refused, group="close-account")

    def set_deleting(self, deleting: bool) -> None:
        self.deleting = deleting
        for widget in self.query("#close-form Input"):
            widget.disabled = deleting
        for widget in self.query("#close-form Button"):
            widget.disabled = deleting
        if not deleting:
            self.query_one("#close-delete", Button).disabled = not self.name_matches()

    def refused(self, message: str) -> None:
        self.set_deleting(False)
        password = self.query_one("#close-password", Input)
        password.value = ""
        text = message[:1].upper() + message[1:]
        if "nothing was deleted" not in text.lower():
            text += "; nothing was deleted"
        self.status(text + ".", error=True)
        if "name" in message:
            self.query_one("#close-name", Input).focus()
        else:
            password.focus()

    def closed(self, receipt) -> None:
        from crm_tui.tui.screens.goodbye import after_closing

        after_closing(self.app, receipt)

    def status(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#close-status", Static)
        widget.update(safe(text))
        widget.set_class(error, "-error")

    # --- keys -------------------------------------------------------------------------------

    def action_back(self) -> None:
        if self.deleting:
            self.app.notify("Deleting… this cannot be interrupted.", severity="warning")
            return
        self.app.pop_screen()

    def action_scroll_info(self, direction: int) -> None:
        info = self.query_one("#close-info", VerticalScroll)
        info.scroll_page_down() if direction > 0 else info.scroll_page_up()

    def action_export(self) -> None:
        if self.deleting:
            return
        from crm_tui.tui.screens.download import DownloadScreen

        self.app.push_screen(DownloadScreen(), self.exported)

    def exported(self, result) -> None:
        if result is None:
            return
        from crm_tui.tui.screens.download import describe

        self.query_one("#close-export-note", Static).update(
            safe("Exported: " + describe(result) + "\nPress e to export again.", multiline=True))
