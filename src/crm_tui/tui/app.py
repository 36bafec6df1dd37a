"""The crm-tui app: sign in, then a top bar of sections and a profile menu at the top right."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from crm_tui.session_context import SessionContext
from crm_tui.tui import routes
from crm_tui.tui.keyflow import KeyFlow

SESSION_CHECK_SECONDS = 2.0
# After the password is accepted, the dashboard opens with its figures if they are read within
# this many seconds; otherwise it opens at once with placeholders and fills them in later.
FIGURES_WAIT_SECONDS = 0.3


class CrmApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "crm-tui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("question_mark", "show_keys", "Keys", id="keys"),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
        Binding("ctrl+c", "quit", "Quit", id="quit-ctrl-c", show=False),
    ]

    def __init__(
        self,
        database_url: str | None = None,
        *,
        engine=None,
        session_context: SessionContext | None = None,
        settled: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.database_url = database_url
        self.engine = engine
        # how the user is connected (over SSH or not); screens pass it to what needs it
        self.session_context = session_context or SessionContext()
        self.who = None  # crm_tui.services.auth.SignedIn once signed in
        self.first_run_note = ""
        self.database_problem = ""
        self._session_timer = None
        self.dashboard_pending = False  # the sign-in's worker is reading the dashboard's figures
        self.first_dashboard = None  # what it read, until the dashboard shows it
        self._arriving = None  # who signed in, while the dashboard waits for its figures
        self._figures_timer = None
        self._warming = False
        self.keys = KeyFlow(self)
        # what the entry point that owns the process does once the app's code is loaded
        self._settled = settled
        # a served session (crm-tui serve): signed in by the SSH key the server named; what is
        # printed on the terminal once the app has ended (a served session ends with the app)
        self.key_tried = False
        self.signed_in_by_key = False
        self.exit_note = ""

    async def on_event(self, event: events.Event) -> None:
        # keys from the terminal go through the key flow: one at a time, each once the last
        # one has settled (see crm_tui.tui.keyflow)
        if isinstance(event, events.Key) and not event.is_forwarded:
            if event.key == "ctrl+c" and not self._text_selected():
                self.exit()  # as terminal users expect; with text selected, ctrl+c copies it
                return
            if self.keys.hold(event):
                return
        await super().on_event(event)

    def _text_selected(self) -> bool:
        from textual.widgets import Input

        focused = self.focused
        if isinstance(focused, Input) and not focused.selection.is_empty:
            return True
        try:
            return bool(self.screen.selections)
        except Exception:
            return False

    # --- start-up: paint first, then open the database in a worker ----------------------

    async def on_mount(self) -> None:
        from crm_tui.tui.screens.signin import SignInScreen

        await self.push_screen(SignInScreen())
        # The database stack (SQLAlchemy, SQLModel) loads only once the sign-in screen is on
        # the terminal: importing it in a thread meanwhile would hold the GIL and delay the paint.
        self.call_after_refresh(self.first_painted)

    def first_painted(self) -> None:
        """The sign-in screen is on the terminal: open the database."""
        if self.engine is None:
            self.open_database()
        else:
            self._database_ready()

    def painted(self, what: str) -> None:
        """A screen's data is on screen ("dashboard": its figures): the ORM models may load now."""
        if what == "dashboard":
            self.warm_up()

    @work(thread=True, exclusive=True, group="open-database")
    def open_database(self) -> None:
        """Open the database with SQLAlchemy Core only (see :mod:`crm_tui.tables`): the ORM
        models load in :meth:`warm_up`, once nothing is waiting for the database."""
        from crm_tui.tui.base import error_text

        try:
            from crm_tui import db, tables

            engine = db.get_engine(self.database_url)
            with db.read_connection(engine) as conn:
                empty = tables.database_is_empty(conn)
            if empty:
                from crm_tui.services import demo

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
        self.call_from_thread(self.tidy_backups)

    def warm_up(self) -> None:
        """Load the ORM models and set their mappers up, in the background, once: while the
        user types on the sign-in screen, or, if they had typed ahead and are signing in at
        once, after the dashboard is painted. The first screen that queries through the ORM
        would otherwise pay it. A daemon thread: it only imports,
        so quitting meanwhile need not wait for it."""
        if self._warming:
            return
        self._warming = True
        threading.Thread(target=_warm_up, args=(self._settled,), name="crm-tui-warm-up", daemon=True).start()

    @work(thread=True, exclusive=True, group="tidy-backups")
    def tidy_backups(self) -> None:
        """Put right what an interrupted close left (a ``closing`` mark undone, a closed
        account's deletion finished: :func:`closing.resume`), then finish or remove what an
        interrupted close, restore or purge left in the backup folder (the same sweep those
        operations run first)."""
        from crm_tui import db
        from crm_tui.services import backups, closing

        try:
            closing.resume(self.engine)
            backups.sweep(self.engine)
            db.finish_checkpoint(self.engine)
        except Exception:  # tidying is best effort; the next close/restore/purge sweeps again
            pass

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

    def signed_in(self, who, dashboard_coming: bool = False) -> None:
        """Open the dashboard. With ``dashboard_coming`` the sign-in's worker is already
        reading the dashboard's figures (see :meth:`dashboard_arrived`), so the dashboard does
        not ask for them a second time while it is being drawn."""
        self._arriving = None
        if self._figures_timer is not None:
            self._figures_timer.stop()
            self._figures_timer = None
        self.who = who
        self.dashboard_pending = dashboard_coming
        self.push_screen(routes.screen_class("dashboard")())
        self._session_timer = self.set_interval(SESSION_CHECK_SECONDS, self.check_session)

    def password_accepted(self, who) -> None:
        """The sign-in's worker goes on to read the dashboard's figures. The dashboard opens
        when they arrive, drawn once with them, or after :data:`FIGURES_WAIT_SECONDS` with
        placeholders (a very large account), whichever is first."""
        self._arriving = who
        self._figures_timer = self.set_timer(FIGURES_WAIT_SECONDS, self._figures_late)

    def _figures_late(self) -> None:
        self._figures_timer = None
        if self._arriving is not None:
            self.signed_in(self._arriving, dashboard_coming=True)

    def dashboard_arrived(self, who, data) -> None:
        """The figures the sign-in's worker read for ``who`` (None: reading them failed, and
        the dashboard asks again itself). Kept for the dashboard if it has not been shown yet."""
        from crm_tui.tui.screens.main import MainScreen

        if who is self._arriving:  # in time: the dashboard opens with them
            self.first_dashboard = data
            self.signed_in(who)
            return
        if who is not self.who or not self.dashboard_pending:
            return
        self.dashboard_pending = False
        self.first_dashboard = data
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen) and screen.waiting:
                screen.show_first()

    def offer_key_link(self, who) -> None:
        """After a password sign-in in a served session whose SSH key is nobody's: ask whether
        to link it to ``who`` (:class:`crm_tui.tui.screens.ssh_keys.LinkKeyModal`)."""
        if self.who is not who:
            return
        from crm_tui.tui.screens.ssh_keys import LinkKeyModal

        self.push_screen(LinkKeyModal(who, self.session_context.public_key))

    def end_session(self) -> None:
        """The signed-in account no longer exists (its owner just closed it): stop the session
        check and forget who was signed in, but leave the screens (goodbye, survey) up."""
        self.who = None
        if self._session_timer is not None:
            self._session_timer.stop()
            self._session_timer = None

    def sign_out(self, message: str = "", *, error: bool = False, to_sign_in: bool = False) -> None:
        """Back to the sign-in screen, saying ``message`` (``error``: the member did not choose
        it). A served session ends instead (the process exits, printing ``message``, and the
        server closes the connection), unless ``to_sign_in`` (the demo's restore, which signs in
        again)."""
        from crm_tui.tui.screens.signin import SignInScreen

        self.signed_in_by_key = False
        if self.session_context.served and not to_sign_in:
            self.who = self._arriving = None
            if self._session_timer is not None:
                self._session_timer.stop()
                self._session_timer = None
            self.exit_note = message or "You signed out."
            self.exit()
            return
        self.who = self._arriving = None
        self.dashboard_pending, self.first_dashboard = False, None
        if self._session_timer is not None:
            self._session_timer.stop()
            self._session_timer = None
        while len(self.screen_stack) > 1 and not isinstance(self.screen, SignInScreen):
            self.pop_screen()
        if isinstance(self.screen, SignInScreen):
            self.screen.signed_out(message, error=error)

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
        if problem:
            if self.who is who:
                self.call_from_thread(self._session_ended, who, problem)
            return
        from crm_tui.services.auth import as_member

        try:  # ownership may have been transferred to or from this member in another session
            fresh = as_member(self.engine, who.email)
        except Exception:
            return
        if fresh.member_id == who.member_id and fresh.role != who.role and self.who is who:
            self.call_from_thread(self.role_changed, fresh.role)
        if fresh.member_id == who.member_id and fresh.time_zone != who.time_zone and self.who is who:
            self.call_from_thread(self.time_zone_changed, fresh.time_zone)

    def _session_ended(self, who, problem: str) -> None:
        # the owner's own close marks the account closing first: this session is the one
        # closing it, and it ends on the goodbye screen, not here
        if self.who is who and not getattr(self.screen, "closing_this_account", False):
            self.sign_out(problem, error=True)

    def time_zone_changed(self, name: str) -> None:
        """The member chose another time zone (in My Account, or in another session): screens
        drawn from now on show times in it."""
        import dataclasses

        if self.who is not None:
            self.who = dataclasses.replace(self.who, time_zone=name)

    def role_changed(self, role: str) -> None:
        """Another session changed this member's role: go back to the dashboard, where only
        what the new role may use is offered, and say so."""
        import dataclasses

        from crm_tui.tui.screens.main import MainScreen

        if self.who is None:
            return
        before = self.who.role
        self.who = dataclasses.replace(self.who, role=role)
        while len(self.screen_stack) > 1 and not isinstance(self.screen, MainScreen):
            self.pop_screen()
        if isinstance(self.screen, MainScreen):
            self.screen.show_welcome()
        self.notify(f"Your role in this account is now {role} (it was {before}).", markup=False, timeout=10)

    # --- navigation ------------------------------------------------------------------------

    def action_open(self, screen_id: str) -> None:
        if self.who is None:
            return
        route = routes.BY_ID[screen_id]
        if not routes.allowed(route, self.who.role):
            self.notify("Your role does not give access to that.", severity="warning")
            return
        cls = route.screen_class()
        if screen_id == "dashboard":
            from crm_tui.tui.screens.main import MainScreen

            while len(self.screen_stack) > 1 and not isinstance(self.screen, MainScreen):
                self.pop_screen()
            return
        # A screen already open further down is brought back (the ones above it close), so
        # hopping between sections never piles up screens for Esc to walk back through.
        if any(isinstance(screen, cls) for screen in self.screen_stack):
            while not isinstance(self.screen, cls):
                self.pop_screen()
            return
        self.push_screen(cls())

    def action_profile_menu(self) -> None:
        if self.who is None:
            return
        from crm_tui.tui.screens.profile_menu import ProfileMenu

        def chosen(route_id: str | None) -> None:
            if not route_id:
                return
            self.call_later(self.run_action, routes.BY_ID[route_id].action)  # run_action is a coroutine

        self.push_screen(ProfileMenu(), chosen)

    def action_show_keys(self) -> None:
        """The keys of the screen on top, in a panel the keyboard scrolls (see
        :mod:`crm_tui.tui.screens.keys_help`); ? or Esc closes it."""
        from crm_tui.tui.screens.keys_help import KeysScreen, key_rows

        if isinstance(self.screen, KeysScreen):
            self.screen.dismiss()
            return
        self.push_screen(KeysScreen(key_rows(self.screen)))

    # Textual's "Keys" in the command palette opens the same panel (not its HelpPanel, which
    # the keyboard cannot scroll)
    def action_show_help_panel(self) -> None:
        from crm_tui.tui.screens.keys_help import KeysScreen

        if not isinstance(self.screen, KeysScreen):
            self.action_show_keys()

    def action_hide_help_panel(self) -> None:
        from crm_tui.tui.screens.keys_help import KeysScreen

        if isinstance(self.screen, KeysScreen):
            self.screen.dismiss()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self.who is None:
            return
        for route in routes.offered(self.who.role):
            yield SystemCommand(route.title, route.help, lambda action=route.action: self.run_action(action))


def _warm_up(settled: Callable[[], None] | None = None) -> None:
    try:
        from sqlalchemy.orm import configure_mappers

        import crm_tui.models  # noqa: F401

        configure_mappers()
    except Exception:  # the first query through the ORM reports whatever is wrong
        pass
    if settled is not None:
        settled()
