"""Keys from the terminal are handled one at a time, each once the last one has settled.

Over a slow link (or from a fast typist, or ``tmux send-keys``) several keys arrive in one
burst. Textual hands every key, as it arrives, to the widget focused at that moment; a key's
binding runs only when the key has bubbled up to the app, and a screen it pushes is mounted and
focused later still. So the keys behind an Enter that opens a screen would land in the screen
being left: lost, typed into the wrong field (a password in clear), or acting twice on a modal
that is already going (a second dismiss pops the screen beneath it).

:class:`KeyFlow` holds the keys of a burst back and releases them in order: the next key is
dispatched only when the last one's consequences have settled, that is, when

* every message it caused has been handled (by the app and by every widget of the screen
  that is current then, including a screen it pushed or uncovered), and
* no screen has paused the flow (:meth:`KeyFlow.pause`: a screen change is on its way that
  no worker of this key's shows, such as signing in once the database has opened), and
* the workers it started have finished (including those of a screen it opened, which load
  what that screen shows), except a worker that put up a screen meanwhile (one that waits for
  a modal's answer), or :data:`WORKER_WAIT_SECONDS` have passed (a long job: keys then go to
  the screen that shows its progress).

So every key reaches the screen and widget that have focus after the keys before it, exactly
as if the keys had been pressed slowly. Text typed into a field is the exception that needs no
wait: a field takes a printable key as text (no binding runs, nothing moves), so the keys of a
typed name follow one another at once. Keys in :data:`IMMEDIATE` (quit) skip the queue.

Keys typed before the app has taken the terminal (while it starts, over SSH) went through the
terminal's line discipline, which turns Enter into a line feed: Textual reads that as Ctrl+J.
The app binds nothing to Ctrl+J (over SSH it is indistinguishable from Enter), so it is taken as
the Enter it was.

This is the one place that relies on Textual's internals (a pump's message queue and the app's
``on_event`` for keys); ``pyproject.toml`` pins the Textual range it is tested with.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import events
from textual.widgets import Input

if TYPE_CHECKING:
    from textual.app import App

IMMEDIATE = frozenset({"ctrl+q", "ctrl+c"})
WORKER_WAIT_SECONDS = 5.0
PAUSE_SECONDS = 15.0
MESSAGE_WAIT_SECONDS = 2.0
_POLL_SECONDS = 0.01


class KeyFlow:
    def __init__(self, app: App) -> None:
        self.app = app
        self._backlog: deque[events.Key] = deque()
        self._released: list[events.Key] = []  # handed back to the app, not yet seen again
        self._runner: asyncio.Task[None] | None = None
        self._pauses: set[asyncio.Event] = set()
        self._arrived = asyncio.Event()  # a key joined the backlog

    def pause(self) -> Callable[[], None]:
        """Hold the keys behind the one being handled until the function returned is called
        (or :data:`PAUSE_SECONDS` have passed): for a screen change that is on its way but not
        through a worker the key started. Calling the function again does nothing."""
        done = asyncio.Event()
        self._pauses.add(done)

        def release() -> None:
            done.set()
            self._pauses.discard(done)

        return release

    def hold(self, event: events.Key) -> bool:
        """Called by the app for a key that has not been dispatched yet: True if the key was
        taken into the queue (the app must not handle it now), False to handle it at once."""
        if any(event is released for released in self._released):
            self._released = [r for r in self._released if r is not event]
            return False
        if event.key in IMMEDIATE:
            return False
        if event.key == "ctrl+j":
            enter = events.Key("enter", "\r")
            enter.time = event.time
            event = enter
        self._backlog.append(event)
        self._arrived.set()
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="crm-tui-keys")
        return True

    async def idle(self) -> None:
        """Wait until every key held back has been handled and has settled."""
        while self._runner is not None and not self._runner.done():
            await asyncio.wait([self._runner])

    async def _run(self) -> None:
        app = self.app
        while self._backlog and app.is_running:
            await self._paused()
            event = self._backlog.popleft()
            workers_before = set(app.workers)
            self._released.append(event)
            if not app.post_message(event):
                self._released.clear()
                return
            if event.is_printable and isinstance(app.focused, Input):
                # typed into a field, which takes it as text: nothing moves, so the next key
                # may follow at once (it queues behind this one for the same field)
                continue
            try:
                await self._settle(workers_before)
            except Exception as error:  # a bug here must not leave the keys stuck
                app._handle_exception(error)
                return

    async def _settle(self, workers_before: set) -> None:
        app = self.app
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WORKER_WAIT_SECONDS
        passed: set = set()  # workers not waited for: one that changed the screens waits on them
        while True:
            await self._drain()
            started = [w for w in app.workers if w not in workers_before and w not in passed and not w.is_finished]
            if not started or loop.time() >= deadline:
                break
            stack = list(app.screen_stack)
            while any(not w.is_finished for w in started) and app.screen_stack == stack and loop.time() < deadline:
                await asyncio.sleep(_POLL_SECONDS)
            if app.screen_stack != stack:
                passed.update(w for w in started if not w.is_finished)
        await self._paused()

    async def _paused(self) -> None:
        """Wait while a screen has paused the flow; Esc, the key that always backs out, is
        not kept waiting (on the sign-in screen it takes a waiting sign-in back)."""
        if not self._pauses:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PAUSE_SECONDS
        while self._pauses and loop.time() < deadline:
            if self._backlog and self._backlog[0].key == "escape":
                break
            self._arrived.clear()
            waits = [asyncio.ensure_future(e.wait()) for e in [*self._pauses, self._arrived]]
            await asyncio.wait(waits, timeout=max(0.0, deadline - loop.time()), return_when=asyncio.FIRST_COMPLETED)
            for wait in waits:
                wait.cancel()
            self._pauses = {e for e in self._pauses if not e.is_set()}
        self._pauses.clear()
        await self._drain()

    async def _drain(self) -> None:
        """Wait until the app and every node of the current screen have handled every message
        queued for them, including those that handling queued in turn."""
        app = self.app
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MESSAGE_WAIT_SECONDS
        while loop.time() < deadline:
            try:
                nodes = [app, *app.screen.walk_children(with_self=True)]
            except Exception:  # no screen (the app is closing)
                return
            pending = []
            for node in nodes:
                if not _busy(node):
                    continue  # nothing queued or being handled: a probe would only wake it
                done = loop.create_future()
                if node.call_later(_resolve, done):
                    pending.append((node, done))
            while pending and loop.time() < deadline:
                # a node removed meanwhile (a screen popped) never runs what was queued for it
                pending = [(n, f) for n, f in pending if not f.done() and self._current(n)]
                if pending:
                    await asyncio.wait([f for _, f in pending], timeout=_POLL_SECONDS * 5)
            try:
                nodes = [app, *app.screen.walk_children(with_self=True)]
            except Exception:
                return
            if not any(_busy(node) for node in nodes):
                return

    def _current(self, node) -> bool:
        """Whether ``node`` is the app or part of the screen that is current now."""
        app = self.app
        if node is app:
            return True
        if node._closing or node._closed or not node.is_attached:
            return False
        try:
            return node.screen is app.screen
        except Exception:
            return False


def _resolve(done: asyncio.Future) -> None:
    """What :meth:`KeyFlow._drain` queues behind a busy node's messages. A Python function, not
    ``done.set_result``: Textual reads a callback's signature on every call, and a builtin
    method's is parsed from text each time (most of a cursor move's CPU on a full screen)."""
    if not done.done():
        done.set_result(None)


def _busy(node) -> bool:
    """Whether ``node`` still has work a key may depend on: a message queued, callbacks waiting
    for its next idle moment, or a message being handled. Textual's queue does not count the
    message being handled; a running node whose loop is not parked waiting for the next message
    (no waiter on its queue's event) is handling one. A node whose loop has not started, or has
    ended, is busy only with what is queued."""
    queue = node._message_queue
    if queue.qsize() or node._next_callbacks:
        return True
    task = node._task
    if task is None or task.done():
        return False
    return not queue.ready_event._waiters
