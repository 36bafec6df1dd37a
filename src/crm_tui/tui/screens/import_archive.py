"""Import an archive (from the sign-in screen): make a new account of a "download my data"
export, owned by whoever imports it. The way back after the 3-month restore window."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Container, Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from crm_tui.tui.base import CrmScreen, ErrorText
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.form_input import FormButton, FormInput

FIELDS = ("#import-path", "#import-email", "#import-name", "#import-password", "#import-again")


class ImportArchiveScreen(CrmScreen):
    BINDINGS = [Binding("escape", "back", "Back", id="back")]
    CSS_PATH = "import_archive.tcss"

    def compose(self) -> ComposeResult:
        with Center():
            with Vertical(id="import-box"):
                yield Static("Import an archive as a new account", id="import-title")
                with Container(id="import-form"):
                    yield Label("Archive file")
                    yield FormInput(
                        placeholder="~/Downloads/acme-realty-2026-12-04.zip",
                        id="import-path",
                        compact=True,
                        next_on_enter="#import-email",
                    )
                    yield Label("Your email")
                    yield FormInput(
                        placeholder="you@example.com", id="import-email", compact=True, next_on_enter="#import-name"
                    )
                    yield Label("Account name")
                    yield FormInput(id="import-name", compact=True, next_on_enter="#import-password")
                    yield Label("Password")
                    yield FormInput(
                        password=True,
                        id="import-password",
                        compact=True,
                        placeholder="at least 8 characters",
                        next_on_enter="#import-again",
                    )
                    yield Label("Again")
                    yield FormInput(password=True, id="import-again", compact=True)
                yield Static(
                    "You become the owner. Team members come back with temporary passwords, "
                    "shown once for you to hand over.",
                    classes="muted",
                )
                yield Static("", id="import-message")
                with Horizontal(id="import-buttons"):
                    yield FormButton("Cancel", id="import-cancel", compact=True)
                    yield FormButton("Import", id="import-go", variant="primary", compact=True)
        yield Footer()

    def action_back(self) -> None:
        if self.query_one("#import-go", Button).disabled:  # its temporary passwords are shown only here
            self._message("The import is under way; its result follows in a moment.")
            return
        super().action_back()

    def on_mount(self) -> None:
        self.query_one("#import-path", Input).focus()

    def _message(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#import-message", Static)
        widget.update(safe(text, multiline=True))
        widget.set_class(error, "-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "import-again":
            self.attempt()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "import-cancel":
            self.action_back()
        elif event.button.id == "import-go":
            self.attempt()

    def attempt(self) -> None:
        button = self.query_one("#import-go", Button)
        if button.disabled:  # an import is under way
            return
        path, email, name, password, again = (self.query_one(f, Input).value for f in FIELDS)
        if self.crm.engine is None:
            self._message("The database is not open yet; try again in a moment.", error=True)
            return
        missing = [
            label
            for label, value in (
                ("the archive", path.strip()),
                ("your email", email.strip()),
                ("the account name", name.strip()),
                ("a password", password),
            )
            if not value
        ]
        if missing:
            self._message(f"Enter {', '.join(missing)}.", error=True)
            return
        if password != again:
            self._clear_passwords()
            self._message("The two passwords differ; type them again.", error=True)
            return
        button.disabled = True
        self._message("Checking the archive…")
        self.call_service(
            self._import,
            self.crm.engine,
            path.strip(),
            email,
            name,
            password,
            done=self._done,
            failed=self._failed,
            group="import-archive",
        )

    def _import(self, engine, path: str, email: str, name: str, password: str):
        """In a worker."""
        import os

        from crm_tui.services import importer

        def progress(text: str) -> None:
            self.app.call_from_thread(self._progress, text)

        return importer.import_account(
            engine, os.path.expanduser(path), email=email, account_name=name, password=password, progress=progress
        )

    def _progress(self, text: str) -> None:
        if self.is_attached and self.query_one("#import-go", Button).disabled:
            self._message(text)

    def _clear_passwords(self) -> None:
        self.query_one("#import-password", Input).value = ""
        self.query_one("#import-again", Input).value = ""
        self.query_one("#import-password", Input).focus()

    def _failed(self, message: ErrorText) -> None:
        self.query_one("#import-go", Button).disabled = False
        self._message(message.sentence, error=True)

    def _done(self, result) -> None:
        from crm_tui.tui.screens.import_done import ImportDoneScreen

        for field in FIELDS[3:]:
            self.query_one(field, Input).value = ""
        self.app.switch_screen(ImportDoneScreen(result))
