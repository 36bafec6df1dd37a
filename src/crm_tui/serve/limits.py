"""Counting what the limits need: new connections per address, live sessions per member."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable


class ConnectionRate:
    """At most ``limit`` new connections from one address within ``window`` seconds (a sliding
    window). Refused attempts are not counted, so a client that waits gets in again."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def admit(self, address: str) -> bool:
        if self.limit <= 0:
            return True
        now = self._clock()
        seen = self._seen[address]
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True

    def forget_idle(self) -> None:
        """Drop addresses with nothing inside the window (called now and then)."""
        now = self._clock()
        for address in [a for a, seen in self._seen.items() if not seen or seen[-1] <= now - self.window]:
            del self._seen[address]


def session_refusal(live_total: int, live_for_member: int, member_id: int | None, total: int, per_member: int) -> str:
    """The one line that refuses a new app session, or "" when it may start."""
    if total > 0 and live_total >= total:
        return f"crm-tui: the server is full ({total} sessions); try again later."
    if member_id is not None and per_member > 0 and live_for_member >= per_member:
        count = f"{live_for_member} session{'s' if live_for_member != 1 else ''}"
        return f"crm-tui: {count} open already, the most allowed; close one and try again."
    return ""
