"""The base screen: Esc goes back, and service calls run in thread workers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.worker import get_current_worker

if TYPE_CHECKING:
    from crm_tui.tui.app import CrmApp


class ErrorText(str):
    """The one line for an error a user can be shown (as the service worded it), with what a
    screen branches on: the error's ``code``, ``field`` and ``undone`` (see
    :mod:`crm_tui.services.errors`), and ``sentence``, the line as the app shows it."""

    code: str | None = None
    field: str | None = None
    undone: str | None = None

    @property
    def sentence(self) -> str:
        from crm_tui.services.errors import as_sentence

        return as_sentence(self)


def error_text(exc: BaseException) -> ErrorText | None:
    """The one-line message for an error a user can be shown, or None for a bug."""
    from crm_tui.services import errors

    text = errors.message(exc)
    if text is None:
        return None
    out = ErrorText(text)
    out.code = errors.code_of(exc)
    out.field = getattr(exc, "field", None)
    out.undone = getattr(exc, "undone", None)
    return out


class ServiceCalls:
    """Mixin: ``call_service(fn, *args, done=...)`` runs ``fn`` in a thread worker and hands
    its result (or its one-line error) back on the UI thread."""

    @property
    def crm(self) -> CrmApp:
        return self.app  # type: ignore[attr-defined]

    def may(self, action: str) -> bool:
        """Whether the signed-in member's role may do ``action`` (the role table of
        :mod:`crm_tui.services.roles`, the one the services enforce)."""
        from crm_tui.services.roles import may

        who = self.crm.who
        return who is not None and may(who.role, action)

    @property
    def zone(self):
        """The signed-in member's time zone, every time on screen is shown in (the machine's
        when nobody is signed in)."""
        from crm_tui.services import zones

        who = self.crm.who
        return zones.zone_for(who.time_zone if who is not None else "")

    def call_service(
        self,
        fn: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[str], None] | None = None,
        group: str = "service",
        exclusive: bool = True,
    ) -> None:
        app = self.app  # type: ignore[attr-defined]

        def job() -> None:
            worker = get_current_worker()
            try:
                result = fn(*args)
            except Exception as exc:  # turned into a message; a bug is re-raised
                message = error_text(exc)
                if message is None:
                    raise
                if not worker.is_cancelled:
                    app.call_from_thread(self._deliver, worker, failed or self.show_error, message)
                return
            if done is not None and not worker.is_cancelled:
                app.call_from_thread(self._deliver, worker, done, result)

        self.run_worker(job, thread=True, group=group, exclusive=exclusive)  # type: ignore[attr-defined]

    def _deliver(self, worker, callback: Callable[[Any], None], value: Any) -> None:
        """On the UI thread: hand a worker's result over, unless the screen was left while the
        result was on its way (leaving cancels the worker only once the screen is unmounted,
        after its widgets have gone; ``display`` is False from the moment removal starts)."""
        if worker.is_cancelled or not self.is_attached or not self.display:  # type: ignore[attr-defined]
            return
        callback(value)

    def show_error(self, message: str) -> None:
        self.app.notify(message, severity="error", markup=False, timeout=8)  # type: ignore[attr-defined]


class OnTop:
    """Mixin for screens: Textual's ``dismiss`` pops whatever screen is on top, so a screen
    dismissed twice (or by a late callback, after something else was pushed over it) would pop
    a screen the user did not leave. Here only the screen on top leaves, and only once."""

    def dismiss(self, result: Any = None) -> AwaitComplete:
        if self is not self.app.screen or not self.is_attached:  # type: ignore[attr-defined]
            return AwaitComplete()
        return super().dismiss(result)  # type: ignore[misc]


class CrmScreen(OnTop, ServiceCalls, Screen):
    BINDINGS = [Binding("escape", "back", "Back", id="back")]

    def action_back(self) -> None:
        if self is self.app.screen and len(self.app.screen_stack) > 1:
            self.app.pop_screen()


class CrmModal(OnTop, ServiceCalls, ModalScreen):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


def nav_bindings() -> list[Binding]:
    """The section keys (1–4) and the profile menu key, from the route table."""
    from crm_tui.tui.routes import ROUTES

    return [
        Binding(r.key, f"app.{r.action}", r.footer or r.title, id=f"nav-{r.id}", show=r.in_footer)
        for r in ROUTES
        if r.key
    ]


class SectionScreen(CrmScreen):
    """A signed-in screen: the top bar with the sections and the profile badge."""

    SECTION = ""
    BINDINGS = nav_bindings()

    def compose_top(self):
        from crm_tui.tui.widgets.topbar import TopBar

        return TopBar(self.crm.who, active=self.SECTION)

    def call_service(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        # Signing out pops every screen, and each one uncovered on the way (a list reloading
        # on resume) would otherwise ask the database for a session that no longer exists.
        if self.crm.who is None:
            return
        super().call_service(fn, *args, **kwargs)
