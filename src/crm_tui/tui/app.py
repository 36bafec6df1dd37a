"""The crm-tui app: sign in, then a top bar of sections and a profile menu at the top right."""

from __future__ import annotations

from typing import Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from crm_tui.tui import commands
from crm_tui.tui.nav import screen_class

SESSION_CHECK_SECONDS = 2.0


class CrmApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "crm-tui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("question_mark", "show_keys", "Keys", id="keys"),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
    ]

    def __init__(self, database_url: str | None = None, *, engine=None) -> None:
        super().__init__()
        self.database_url = database_url
        self.engine = engine
        self.who = None  # crm_tui.services.auth.SignedIn once signed in
        self.first_run_note = ""
        self.database_problem = ""
        self._session_timer = None

    # --- start-up: paint first, then open the database in a worker ----------------------

    def on_mount(self) -> None:
        from crm_tui.tui.screens.signin import SignInScreen

        self.push_screen(SignInScreen())
        if self.engine is None:
            self.open_database()
        else:
            self.call_later(self._database_ready)

    @work(thread=True, exclusive=True, group="open-database")
    def open_database(self) -> None:
        from crm_tui.tui.base import error_text

        try:
            from crm_tui import db
            from crm_tui.services import demo

            engine = db.get_engine(self.database_url)
            if demo.database_is_empty(engine):
                demo.create(engine)
                self.first_run_note = "This database was empty, so the demo accounts were created."
        except Exception as exc:
            message = error_text(exc)
            if message is None:
                raise
            self.call_from_thread(self._database_failed, message)
            return
        self.engine = engine
        self.call_from_thread(self._database_ready)

    def _database_ready(self) -> None:
        from crm_tui.tui.screens.signin import SignInScreen

        for screen in self.screen_stack:
            if isinstance(screen, SignInScreen):
                screen.database_ready()

    def _database_failed(self, message: str) -> None:
        from crm_tui.tui.screens.signin import SignInScreen

        self.database_problem = message
        for screen in self.screen_stack:
            if isinstance(screen, SignInScreen):
                screen.database_failed(message)

    # --- signing in and out -------------------------------------------------------------

    def signed_in(self, who) -> None:
        self.who = who
        self.push_screen(screen_class("dashboard")())
        self._session_timer = self.set_interval(SESSION_CHECK_SECONDS, self.check_session)

    def end_session(self) -> None:
        """The signed-in account no longer exists (its owner just closed it): stop the session
        check and forget who was signed in, but leave the screens (goodbye, survey) up."""
        self.who = None
        if self._session_timer is not None:
            self._session_timer.stop()
            self._session_timer = None

    def sign_out(self, message: str = "") -> None:
        from crm_tui.tui.screens.signin import SignInScreen

        self.who = None
        if self._session_timer is not None:
            self._session_timer.stop()
            self._session_timer = None
        while len(self.screen_stack) > 1 and not isinstance(self.screen, SignInScreen):
            self.pop_screen()
        if isinstance(self.screen, SignInScreen):
            self.screen.signed_out(message)

    def action_sign_out(self) -> None:
        self.sign_out("You signed out.")

    @work(thread=True, exclusive=True, group="session-check")
    def check_session(self) -> None:
        who = self.who
        if who is None or self.engine is None:
            return
        from crm_tui.services.auth import session_problem

        try:
            problem = session_problem(self.engine, who)
        except Exception:  # a busy database is not a reason to sign anyone out
            return
        if problem and self.who is who:
            self.call_from_thread(self.sign_out, problem)

    # --- navigation ------------------------------------------------------------------------

    def action_open(self, screen_id: str) -> None:
        if self.who is None:
            return
        command = commands.BY_ID.get(screen_id)
        if command is not None and not commands.allowed(command, self.who.role):
            self.notify("Your role does not give access to that.", severity="warning")
            return
        cls = screen_class(screen_id)
        if screen_id == "dashboard":
            from crm_tui.tui.screens.main import MainScreen

            while len(self.screen_stack) > 1 and not isinstance(self.screen, MainScreen):
                self.pop_screen()
            return
        if isinstance(self.screen, cls):
            return
        self.push_screen(cls())

    def action_profile_menu(self) -> None:
        if self.who is None:
            return
        from crm_tui.tui.screens.profile_menu import ProfileMenu

        def chosen(command_id: str | None) -> None:
            if not command_id:
                return
            command = commands.BY_ID[command_id]
            self.run_action(command.action)

        self.push_screen(ProfileMenu(), chosen)

    def action_show_keys(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self.who is None:
            return
        for command in commands.COMMANDS:
            if commands.allowed(command, self.who.role):
                yield SystemCommand(command.title, command.help,
                                    lambda action=command.action: self.run_action(action))
