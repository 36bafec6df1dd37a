"""Batches made on a helper thread, a few ahead of the thread that uses them.

Restoring on SQLite, the next rows of a member are read and converted while the last ones are
inserted; exporting on PostgreSQL, the next rows of a view member are fetched from the server
while the last ones are turned into vCard or iCalendar text."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

_DONE = object()


class Feed:
    """Iterates ``batches`` on a thread of its own, up to ``depth`` batches ahead of the
    consumer. An error in ``batches`` is raised to the consumer. :meth:`close` stops the
    thread and returns once it has ended, with ``batches`` closed on it (a cursor it holds is
    closed then); a consumer that reads from the same connection as ``batches`` runs nothing
    on it before then.

    The thread looks at the stop flag before each hand-over, so once :meth:`close` has set it
    at most one hand-over is under way, and taking one batch off the queue lets that one end."""

    def __init__(self, batches: Iterator[Any], *, depth: int, name: str) -> None:
        self._batches = batches
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _hand(self, item: object) -> bool:
        if self._stop.is_set():
            return False
        self._queue.put(item)
        return True

    def _run(self) -> None:
        try:
            for batch in self._batches:
                if not self._hand(batch):
                    return
            self._hand(_DONE)
        except BaseException as exc:  # raised to the consumer
            self._hand(exc)
        finally:
            close = getattr(self._batches, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator[Any]:
        while (item := self._queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop reading and wait for the thread to end."""
        self._stop.set()
        try:
            self._queue.get_nowait()
        except queue.Empty:
            pass
        self._thread.join()
