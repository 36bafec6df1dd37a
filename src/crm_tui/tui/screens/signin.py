"""Sign in: email and password; a hint lists the demo users when the demo is present."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Container, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from crm_tui.services.errors import AccountClosed, Throttled, as_sentence
from crm_tui.tui.base import CrmScreen, ErrorText, error_text
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.form_input import FormButton, FormInput


class SignInScreen(CrmScreen):
    _pending = False  # Enter was pressed while the database was still opening
    _release_keys = None  # set while a sign-in is under way: keys typed behind it wait for it
    BINDINGS = [
        Binding("escape", "clear", "Clear", id="clear"),
        Binding("ctrl+o", "import_archive", "Import an archive", id="import-archive"),
    ]
    # its styles are in app.tcss: it is the first screen, painted with the app's style sheet

    def compose(self) -> ComposeResult:
        with Center():
            with Vertical(id="signin-box"):
                yield Static("crm-tui · sign in", id="signin-title")
                with Container(id="signin-form"):
                    yield Label("Email", classes="signin-label")
                    yield FormInput(placeholder="you@example.com", id="email", compact=True, next_on_enter="#password")
                    yield Label("Password", classes="signin-label")
                    yield FormInput(password=True, id="password", compact=True)
                    yield Label("", classes="signin-label")
                    yield FormButton("Sign in", id="sign-in", variant="primary", disabled=True, compact=True)
                yield Static("Opening the database…", id="signin-message")
                yield Static("", id="demo-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#email", Input).focus()
        if self.crm.engine is not None:
            self.database_ready()
        elif self.crm.database_problem:
            self.database_failed(self.crm.database_problem)

    def database_ready(self) -> None:
        self.query_one("#sign-in", Button).disabled = False
        self._message(self.crm.first_run_note)
        if self._pending:  # typed ahead: sign in now; the demo hint would only compete with it
            self._pending = False
            self.attempt()
            return
        member_id = self.crm.session_context.member_id
        if member_id is not None and not self.crm.key_tried:  # served: the key stands for the password
            self.crm.key_tried = True
            self.query_one("#sign-in", Button).disabled = True
            self._keys_wait()
            self._message("Signing in with your SSH key…")
            self.call_service(self._sign_in_with_key, self.crm.engine, member_id, failed=self._failed, group="sign-in")
            return
        self.call_service(self._demo_users, done=self._show_demo_hint, group="demo-hint")
        self.crm.warm_up()

    def database_failed(self, message: str) -> None:
        self._keys_follow()
        self._message(f"Cannot open the database: {message}", error=True)

    def _keys_wait(self) -> None:
        """A sign-in is under way: keys typed behind its Enter are for the dashboard (or, if it
        is refused, for this screen), so they wait until one or the other is showing."""
        if self._release_keys is None:
            self._release_keys = self.app.keys.pause()

    def _keys_follow(self) -> None:
        if self._release_keys is not None:
            self._release_keys()
            self._release_keys = None

    def on_screen_suspend(self) -> None:  # the dashboard is showing
        self._keys_follow()

    def _demo_users(self):
        from crm_tui.services import demo

        return demo.present_demo_users(self.crm.engine)

    def _show_demo_hint(self, users) -> None:
        if not users:
            self.query_one("#demo-hint", Static).update("")
            return
        lines = ["Demo users:"]
        lines += [f"  {u.email:<27} {u.password:<12} {u.role}" for u in users]
        self.query_one("#demo-hint", Static).update(safe("\n".join(lines), multiline=True))

    def _message(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#signin-message", Static)
        widget.update(safe(text, multiline=True))
        widget.set_class(error, "-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "password":
            self.attempt()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "sign-in":
            self.attempt()

    def _ask_for_missing(self, email: str, password: str) -> bool:
        """Focus the field still to be typed and say so; False when both are there."""
        if not email.strip() or "@" not in email:
            self._message(
                "Type your email address, such as you@example.com." if email.strip() else "Type your email.", error=True
            )
            self.query_one("#email", Input).focus()
            return True
        if not password:
            self._message("Type your password.", error=True)
            self.query_one("#password", Input).focus()
            return True
        return False

    def action_clear(self) -> None:
        self.query_one("#password", Input).value = ""
        if self._pending:
            self._pending = False
            self._keys_follow()
            self._message("Opening the database…")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Importing reads an archive from this machine's disk: not for a session served to
        # someone connecting over SSH (the server's files are not theirs to open).
        if action == "import_archive" and self.crm.session_context.served:
            return False
        return True

    def action_import_archive(self) -> None:
        if self.crm.session_context.served:
            return
        from crm_tui.tui.screens.import_archive import ImportArchiveScreen

        self.app.push_screen(ImportArchiveScreen())

    def attempt(self) -> None:
        email = self.query_one("#email", Input).value
        password = self.query_one("#password", Input).value
        if self.crm.engine is None:
            if self.crm.database_problem:  # its message stays
                return
            if not self._ask_for_missing(email, password):
                self._pending = True
                self._keys_wait()
                self._message("Signing in as soon as the database is open…")
            return
        if self.query_one("#sign-in", Button).disabled:  # a sign-in is under way
            return
        if self._ask_for_missing(email, password):
            return
        self.query_one("#sign-in", Button).disabled = True
        self._keys_wait()
        self._message("Signing in…")
        self.call_service(self._sign_in, self.crm.engine, email, password, failed=self._failed, group="sign-in")

    def _sign_in(self, engine, email: str, password: str) -> None:
        """In a worker: sign in, then read the dashboard's figures here, so the dashboard is
        drawn once, with them (see :meth:`CrmApp.password_accepted`)."""
        from crm_tui.services import auth
        from crm_tui.services.errors import AuthenticationFailed

        try:
            who = auth.sign_in(engine, email, password)
        except AuthenticationFailed as exc:
            # the right password of someone whose account was closed; too many wrong ones; wrong
            answer = {AccountClosed.code: self._account_closed, Throttled.code: self._throttled}
            self._answer(answer.get(exc.code, self._wrong), exc)
            return
        self._arrive(engine, who)
        if self.crm.session_context.public_key and self.crm.session_context.member_id is None:
            self._offer_key_link(engine, who)

    def _sign_in_with_key(self, engine, member_id: int) -> None:
        """In a worker: a served session whose SSH key belongs to ``member_id``."""
        from crm_tui.services import auth
        from crm_tui.services.errors import AuthenticationFailed

        try:
            who = auth.sign_in_with_key(engine, member_id)
        except AuthenticationFailed as exc:
            self._answer(self._key_refused, exc)
            return
        self.crm.signed_in_by_key = True
        self._arrive(engine, who)

    def _key_refused(self, message: str) -> None:
        self._again("#email", as_sentence(message) + " Sign in with your email and password.")
        self.call_service(self._demo_users, done=self._show_demo_hint, group="demo-hint")

    def _offer_key_link(self, engine, who) -> None:
        """In the sign-in's worker: the SSH key of this served session is nobody's yet; once
        the dashboard is up, offer to link it to ``who``."""
        from crm_tui.services import ssh_keys

        try:
            ssh_keys.parse_public_key(self.crm.session_context.public_key)
            linked = ssh_keys.is_linked(engine, self.crm.session_context.public_key)
        except Exception:  # not offering is harmless; the key can be added in My Account
            return
        if not linked:
            self.app.call_from_thread(self.crm.offer_key_link, who)

    def _arrive(self, engine, who) -> None:
        """In the sign-in's worker, ``who`` accepted: read the dashboard's figures here."""
        self.app.call_from_thread(self._password_accepted, who)
        try:
            from crm_tui.services.dashboard import dashboard

            data = dashboard(engine, who)
        except Exception:  # the dashboard asks again itself, and says what is wrong
            data = None
        self.app.call_from_thread(self.crm.dashboard_arrived, who, data)

    def _password_accepted(self, who) -> None:
        self.query_one("#password", Input).value = ""  # the button stays off until signed out
        self.crm.password_accepted(who)

    def _answer(self, callback, exc: BaseException) -> None:
        """From the worker: hand a refusal to ``callback`` on the UI thread (as call_service
        hands its ``failed``), worded by :func:`~crm_tui.tui.base.error_text`."""
        from textual.worker import get_current_worker

        self.app.call_from_thread(self._deliver, get_current_worker(), callback, error_text(exc))

    def _again(self, focus: str, message: str) -> None:
        """A sign-in was refused: the password is cleared, and focus goes to ``focus``, the
        field to type next, which ``message`` names."""
        self._keys_follow()
        self.query_one("#sign-in", Button).disabled = False
        self.query_one("#password", Input).value = ""
        self.query_one(focus, Input).focus()
        self._message(message, error=True)

    def _failed(self, message: ErrorText) -> None:
        # The database could not answer: the password stays, and Enter in it tries again.
        self._keys_follow()
        self.query_one("#sign-in", Button).disabled = False
        self.query_one("#password", Input).focus()
        self._message(message.sentence, error=True)

    def _wrong(self, _message: str) -> None:
        self._again("#password", "Wrong email or password. Type the password again.")

    def _throttled(self, message: str) -> None:
        self._again("#password", as_sentence(message) + " Then type the password again.")

    def _account_closed(self, message: str) -> None:
        # Nothing to type again for this email: another one, perhaps (it is selected on focus).
        self._again("#email", message)
        # the hint may still list that account's users, if it was closed since it was read
        self.call_service(self._demo_users, done=self._show_demo_hint, group="demo-hint")

    def signed_out(self, message: str, *, error: bool = False) -> None:
        """Back on the sign-in screen: ``message`` says why (an error when the member did not
        choose it: removed, the account closed by someone else)."""
        self.query_one("#sign-in", Button).disabled = self.crm.engine is None
        self.query_one("#password", Input).value = ""
        self.query_one("#email", Input).value = ""
        self.query_one("#email", Input).focus()
        note = f"{message} " if message else ""
        self._message(note + "Type your email to sign in.", error=error)
        if self.crm.engine is not None:  # a member may have been removed or the account closed
            self.call_service(self._demo_users, done=self._show_demo_hint, group="demo-hint")
