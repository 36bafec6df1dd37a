"""The confirmation before closing the account: what is deleted (counts per kind), who loses
access, the Messages/Twilio note, "export first" one key away, the alternatives the help
article gives (transfer ownership, remove members one by one, cancel only Messages, export
chosen contacts), each one key away, the support address and the warning. The owner types the
account name and re-enters the password; focus starts on Cancel, Esc backs out, and no single
key deletes anything. A character typed on Cancel that no key binding answers starts the
name.

The screen's letter keys are plain (not priority) bindings, as ``e`` always was: in the name
and password fields a letter is typed, never taken; they act from the buttons, where focus
starts. Each alternative opens its screen on top of this one, and Esc comes back here (the
counts are read again; if ownership was transferred meanwhile, this screen closes)."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Button, Footer, Input, Label, ProgressBar, Static

from crm_tui.services.errors import as_sentence
from crm_tui.text import noun, plural
from crm_tui.tui.base import CrmScreen, ErrorText
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.form_input import FormButton, FormInput

DELETE_LABEL = "Delete account permanently"
# said when Enter typed ahead reaches the delete button, which takes only a key pressed on it
HELD_BACK = "Nothing deleted yet: keys typed ahead never delete. Press Enter again."
PROGRESS_EVERY = 0.1  # s: how often the close's progress line is updated

# what the progress line calls the rows of each table (plural)
ROW_WORDS = {
    "contact": "contacts",
    "todo": "to-dos",
    "appointment": "appointments",
    "history_entry": "history entries",
    "email_template": "email templates",
    "autoresponder": "autoresponders",
    "autoresponder_step": "autoresponder steps",
    "member": "team members",
    "ssh_key": "SSH keys",
    "text_message": "text messages",
    "messages_service": "Messages settings",
    "invoice": "invoices",
}


def progress_text(table: str, done: int, total: int) -> str:
    """'Writing the backup: 120,000 of 1,500,000 records…' while the close's backup is written,
    then 'Deleting 120,000 of 250,000 contacts…' table by table."""
    from crm_tui.services.closing import BACKING_UP

    if table == BACKING_UP:
        return f"Closing: writing the encrypted backup, {done:,} of {total:,} records…"
    words = ROW_WORDS.get(table, table.replace("_", " ") + " rows")
    return f"The account is closed. Deleting {done:,} of {total:,} {words}…"


EXPORT_NOTE = (
    "Export first: press e to download all your data as one archive (contacts, calendar, "
    "to-dos, templates, reports). This screen stays as it is. "
)
ALTERNATIVES = (
    "Instead of closing everything (each opens on top of this screen; Esc comes back):\n"
    "  t  transfer ownership to a team member (Team Members, then t)\n"
    "  m  remove team members one by one (Team Members, then r)\n"
    "  s  cancel only Messages (Automation → Messages → Settings)\n"
    "  c  export chosen contacts (Contacts → Group Actions)"
)
# which screen each alternative opens, and what to do there
ALTERNATIVE_SCREENS = {
    "transfer": ("team", "Choose the team member who should become the owner, then press t."),
    "team": ("team", "Choose a team member, then press r to remove only them."),
    "messages": ("messages", "Press x to cancel only Messages; the account stays."),
    "contacts": (
        "contacts",
        "Select contacts with Space, then press g for Group Actions to export the chosen ones (or all of them).",
    ),
}


class CloseConfirmScreen(CrmScreen):
    BINDINGS = [
        # at 80 columns the footer holds Esc and the five letter keys; the page keys (the
        # scrollbar shows there is more) are in the ? help
        Binding("escape", "back", "Back", id="back"),
        Binding("e", "export", "Export", id="close-export"),
        Binding("t", "alternative('transfer')", "Transfer", id="close-transfer"),
        Binding("m", "alternative('team')", "Members", id="close-team"),
        Binding("s", "alternative('messages')", "Messages", id="close-messages"),
        Binding("c", "alternative('contacts')", "Contacts", id="close-contacts"),
        Binding("pagedown", "scroll_info(1)", "Scroll down", id="close-page-down", show=False),
        Binding("pageup", "scroll_info(-1)", "Scroll up", id="close-page-up", show=False),
    ]
    CSS_PATH = "close_confirm.tcss"

    def __init__(self) -> None:
        super().__init__()
        self.impact = None
        self.deleting = False
        self.name_told = False  # a name mismatch was reported: the status follows the field
        self.held_back_told = False  # the status says a key typed ahead did not delete
        self.away = False  # an alternative's screen was opened on top of this one
        # while a close runs: its latest (table, done, total), what the screen shows, the timer
        self._progress_latest: tuple[str, int, int] | None = None
        self._progress_shown: tuple[str, int, int] | None = None
        self._progress_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        from crm_tui.services.accounts import KEEP_EXPORT, SUPPORT_EMAIL

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
            yield Static(EXPORT_NOTE + KEEP_EXPORT, id="close-export-note", classes="close-block", markup=False)
            yield Static(ALTERNATIVES, id="close-alternatives", classes="close-block", markup=False)
            yield Static(
                f"Having problems, or questions about your plan? Write to {SUPPORT_EMAIL} before "
                "you close the account: we may be able to help.\n"
                f"Changed your mind later? Support may restore the account from backups for up to "
                f"3 months after closing ({SUPPORT_EMAIL}); after that the data is gone for good.",
                id="close-support",
                classes="close-block",
                markup=False,
            )
        with Vertical(id="close-form"):
            with Horizontal(classes="close-row"):
                yield Label("", id="close-name-label", classes="close-label")
                # not selected on focus: sent back here to put a space or a letter right, the
                # user's Backspace or arrow keys must not wipe the whole name
                yield FormInput(
                    id="close-name",
                    compact=True,
                    disabled=True,
                    placeholder="the name, exactly",
                    next_on_enter="#close-password",
                    select_on_focus=False,
                )
            with Horizontal(classes="close-row"):
                yield Label("Your password", classes="close-label")
                yield FormInput(
                    id="close-password", password=True, compact=True, disabled=True, placeholder="re-enter it"
                )
            with Horizontal(id="close-buttons"):
                yield FormButton("Cancel", id="close-cancel", variant="primary", compact=True)
                yield FormButton(
                    DELETE_LABEL, id="close-delete", variant="error", compact=True, disabled=True, deliberate=True
                )
            yield Static("", id="close-status")
            # shown while the backup is written, then while the rows are deleted in batches
            yield ProgressBar(id="close-progress", show_eta=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#close-cancel", Button).focus()
        self.load_impact()

    def load_impact(self) -> None:
        from crm_tui.services import accounts

        self.call_service(
            accounts.impact,
            self.crm.engine,
            self.crm.who,
            done=self.show_impact,
            failed=lambda m: self.status(f"Cannot prepare the closing: {m}", error=True),
            group="close-impact",
        )

    def on_screen_resume(self) -> None:
        """Back from an alternative: read the counts again (members may have been removed,
        Messages cancelled); a member who is no longer the owner cannot close the account."""
        if not self.away:
            return
        self.away = False
        who = self.crm.who
        if who is None:
            return
        if not self.may("account.close"):
            self.app.notify(
                "You are no longer the owner: only the owner can close the account.", severity="warning", timeout=8
            )
            self.app.action_open("dashboard")
            return
        self.load_impact()

    def show_impact(self, impact) -> None:
        from crm_tui.services.accounts import TWILIO_NOTE, count_table

        self.impact = impact
        total = sum(impact.counts.values())
        lines = [f"What will be deleted ({plural(total, 'record')}):", *count_table(impact.lines())]
        self.query_one("#close-counts", Static).update(safe("\n".join(lines), multiline=True))

        if impact.members_losing_access:
            n = len(impact.members_losing_access)
            team = [f"{plural(n, 'team member')} {noun(n, 'loses', 'lose')} access:"]
            from crm_tui.tui.widgets.record_table import fit_text

            team += [
                f"  • {fit_text(m.name, 24)} <{fit_text(m.email, 30)}> — {m.role}" for m in impact.members_losing_access
            ]
            team.append("To end only one person's access, remove them in Team Members instead (m).")
        else:
            team = ["No team members: nobody else loses access."]
        self.query_one("#close-team", Static).update(safe("\n".join(team), multiline=True))

        messages = self.query_one("#close-messages", Static)
        messages.display = impact.messages_active  # read again after an alternative: it may have changed
        if impact.messages_active:
            phone = f" ({impact.messages_phone})" if impact.messages_phone else ""
            messages.update(
                safe(f"Messages is active{phone}: it stops and its text-message history is deleted. {TWILIO_NOTE}")
            )

        # the whole name, wrapped if it is long: it is what has to be typed
        self.query_one("#close-name-label", Label).update(
            safe("Type the account name: ") + safe(impact.account_name, style="bold")
        )
        self.query_one("#close-name", Input).disabled = False
        self.query_one("#close-password", Input).disabled = False

    # --- the form ---------------------------------------------------------------------------

    def name_matches(self) -> bool:
        return self.impact is not None and self.query_one("#close-name", Input).value == self.impact.account_name

    def name_problem(self) -> str | None:
        from crm_tui.services.closing import name_problem

        if self.impact is None:
            return None
        return name_problem(self.query_one("#close-name", Input).value, self.impact.account_name)

    def tell_name_problem(self) -> None:
        """Say what is wrong with the typed name (or that it matches now); once a mismatch has
        been told, this runs on every change, so the message follows the field."""
        problem = self.name_problem()
        if problem:
            self.name_told = True
            self.status(as_sentence(problem), error=True)
        elif self.name_told:
            self.status("The name matches.")

    def on_key(self, event: events.Key) -> None:
        """A character typed on Cancel (where focus starts) that no key binding here answers
        starts the account name: the screen asks to type it, and "Acme Realty" typed at once
        lost its "A" and went to Contacts on its "c". A name starting with one of the keys
        (e, t, m, s, c, ?) still needs Tab first; Space still presses Cancel."""
        char = event.character
        if not (event.is_printable and char and not char.isspace()):
            return
        if self.focused is not self.query_one("#close-cancel", Button):
            return
        name = self.query_one("#close-name", Input)
        bound = self.active_bindings  # the screen's and the app's, those enabled here
        if name.disabled or event.key in bound or char in bound:
            return
        event.stop()
        event.prevent_default()
        name.focus()
        name.insert_text_at_cursor(char)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "close-name" and not self.deleting:
            self.query_one("#close-delete", Button).disabled = not self.name_matches()
            if self.name_told:
                self.tell_name_problem()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # Enter only moves on: deleting always takes a deliberate press of the delete button
        # (the name field's Enter moves to the password field itself, see FormInput).
        if event.input.id == "close-password":
            delete = self.query_one("#close-delete", Button)
            if delete.disabled:
                self.tell_name_problem()
                self.query_one("#close-name", Input).focus()
            else:
                delete.focus()

    def on_form_button_held_back(self, event: FormButton.HeldBack) -> None:
        """Enter (or Space) typed ahead reached the delete button and did not press it: say so,
        or over a slow link the screen seems to have ignored the key."""
        if event.button.id == "close-delete" and not self.deleting:
            self.status(HELD_BACK)

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        # "Press Enter again" is about the delete button: not left up once focus moves on
        if self.held_back_told and event.widget.id == "close-delete" and not self.deleting:
            self.status("")

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

        # The close's worker thread leaves its latest (table, done, total) here without waiting
        # for the screen (the backup reports every few thousand rows); a timer shows it.
        self._progress_latest = self._progress_shown = None
        self._progress_timer = self.set_interval(PROGRESS_EVERY, self._tick_progress)

        def progress(table: str, done: int, total: int) -> None:  # on the close's worker thread
            self._progress_latest = (table, done, total)

        self.call_service(
            closing.close_account,
            self.crm.engine,
            self.crm.who,
            self.query_one("#close-name", Input).value,
            password,
            progress,
            done=self.closed,
            failed=self.refused,
            group="close-account",
        )

    @property
    def closing_this_account(self) -> bool:
        """While this screen's close runs the account is closing: the app's session check
        leaves this session to the goodbye screen."""
        return self.deleting

    def show_progress(self, table: str, done: int, total: int) -> None:
        """(On the timer.) The backup being written, then (the account closed and restorable) its rows being
        deleted, table by table."""
        bar = self.query_one("#close-progress", ProgressBar)
        bar.display = True
        bar.update(total=max(total, 1), progress=done)
        self.status(progress_text(table, done, total))

    def set_deleting(self, deleting: bool) -> None:
        self.deleting = deleting
        for widget in self.query("#close-form Input"):
            widget.disabled = deleting
        for widget in self.query("#close-form Button"):
            widget.disabled = deleting
        if not deleting:
            self.query_one("#close-delete", Button).disabled = not self.name_matches()

    def refused(self, message: ErrorText) -> None:
        self._stop_progress()
        self.set_deleting(False)
        password = self.query_one("#close-password", Input)
        password.value = ""
        # a refused close deletes nothing; say so, unless the message does already
        self.status(
            message.sentence if message.undone == "deleted" else as_sentence(f"{message}; nothing was deleted"),
            error=True,
        )
        if message.field == "name":
            self.name_told = True
            self.query_one("#close-name", Input).focus()
        else:
            password.focus()

    def closed(self, receipt) -> None:
        from crm_tui.tui.screens.goodbye import after_closing

        self._stop_progress()
        after_closing(self.app, receipt)

    def _tick_progress(self) -> None:
        latest = self._progress_latest
        if latest is not None and latest != self._progress_shown:
            self._progress_shown = latest
            self.show_progress(*latest)

    def _stop_progress(self) -> None:
        if self._progress_timer is not None:
            self._progress_timer.stop()
            self._progress_timer = None

    def status(self, text: str, error: bool = False) -> None:
        self.held_back_told = text == HELD_BACK
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

    def action_alternative(self, which: str) -> None:
        """Open the screen of an alternative to closing, on top of this one."""
        if self.deleting or self.crm.who is None:
            return
        from crm_tui.tui.routes import screen_class

        screen_id, hint = ALTERNATIVE_SCREENS[which]
        if which == "transfer" and self.impact is not None and not self.impact.members_losing_access:
            hint = "Nobody else is in the account yet: add the new owner with a, then choose them and press t."
        if which == "messages" and self.impact is not None and not self.impact.messages_active:
            hint = "Messages is not active on this account: there is nothing to cancel."
        self.away = True
        self.app.push_screen(screen_class(screen_id)())
        self.app.clear_notifications()  # the hint of an alternative opened before
        self.app.notify(hint, title="Instead of closing", timeout=10, markup=False)

    def exported(self, result) -> None:
        if result is None:
            return
        from crm_tui.services.accounts import KEEP_EXPORT
        from crm_tui.tui.screens.download import describe

        self.query_one("#close-export-note", Static).update(
            safe(
                "Exported: " + describe(result, self.crm.session_context) + "\nPress e to export again. " + KEEP_EXPORT,
                multiline=True,
            )
        )
