"""Time zones: each member's zone, the machine's zone, and how times are written for a member.

Times are stored in UTC. A member sees them in the zone chosen in My Account (an IANA name
such as ``America/New_York``); an empty choice means the zone of the machine the app runs on:
``TZ`` if it names a zone, else ``/etc/localtime``, else UTC. A stored name this machine does
not know (a database moved to another host) falls back to the machine's zone, never an error.

Every screen writes a time through :func:`time_text` (local time and the zone's abbreviation,
"Thu 3 Dec 09:00 EST"); a date that is a day reckoned in some zone (the restore-until date)
through :func:`day_text`, which names that zone. Standard library only (``zoneinfo``; the
``tzdata`` package supplies the zone database where the system has none).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from crm_tui.services.errors import ZONE_UNKNOWN, InvalidInput

UTC_NAME = "UTC"
LOCALTIME = "/etc/localtime"


def _named(name: str) -> ZoneInfo | None:
    """The zone called ``name``, or None when there is no such zone here."""
    if not name or name != name.strip() or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found; not a relative key; a folder
        return None


def _from_path(path: str) -> ZoneInfo | None:
    """The zone of a tz file: by its IANA name when the path ends in ``zoneinfo/NAME`` (so it
    can be shown by name), else read from the file itself."""
    real = os.path.realpath(path)
    marker = "/zoneinfo/"
    if marker in real:
        zone = _named(real.rsplit(marker, 1)[1])
        if zone is not None:
            return zone
    try:
        with open(real, "rb") as f:
            return ZoneInfo.from_file(f, key=os.path.basename(real) or None)
    except (OSError, ValueError):
        return None


@lru_cache(maxsize=8)
def _machine_zone(tz_env: str | None, localtime: str) -> ZoneInfo:
    if tz_env:
        spec = tz_env[1:] if tz_env.startswith(":") else tz_env
        zone = _from_path(spec) if spec.startswith("/") else _named(spec)
        if zone is not None:
            return zone
    if os.path.exists(localtime):
        zone = _from_path(localtime)
        if zone is not None:
            return zone
    return ZoneInfo(UTC_NAME)


def machine_zone(localtime: str = LOCALTIME) -> ZoneInfo:
    """The zone of the machine the app runs on: ``TZ`` when it names a zone (``:`` prefix
    and absolute paths as libc takes them), else ``/etc/localtime``, else UTC."""
    return _machine_zone(os.environ.get("TZ"), localtime)


def zone_for(name: str | None) -> ZoneInfo:
    """A member's zone: the one named, or the machine's when the name is empty or unknown."""
    return _named(name or "") or machine_zone()


def zone_name(zone: tzinfo) -> str:
    """The IANA name of a zone (``UTC`` for the UTC singleton)."""
    key = getattr(zone, "key", None)
    if key:
        return key
    return UTC_NAME if zone is timezone.utc else str(zone)


@lru_cache(maxsize=1)
def all_zones() -> tuple[str, ...]:
    """Every zone name this machine knows, sorted (about 600; read once)."""
    return tuple(sorted(available_timezones()))


def matching(text: str, limit: int | None = None) -> list[str]:
    """Zone names containing ``text`` (case and ``_``/space do not matter), names that start
    with it first; all of them for an empty ``text``."""
    needle = text.strip().lower().replace(" ", "_")
    found = [z for z in all_zones() if needle in z.lower()]
    found.sort(
        key=lambda z: (not z.lower().startswith(needle) and not z.lower().rsplit("/", 1)[-1].startswith(needle), z)
    )
    return found[:limit] if limit is not None else found


def checked(name: str) -> str:
    """A zone name fit to store: an exact IANA name (typed in any case, spaces for ``_``),
    or "" for the machine's zone. Anything else is refused with one line."""
    text = name.strip()
    if not text or text.lower() in ("machine", "local", "default"):
        return ""
    wanted = text.replace(" ", "_")
    for zone in all_zones():
        if zone == wanted:
            return zone
    lowered = wanted.lower()
    for zone in all_zones():
        if zone.lower() == lowered:
            return zone
    if _named(wanted) is not None:  # a zone outside the listed set (e.g. a system-only link)
        return wanted
    raise InvalidInput(
        f"unknown time zone {text!r}; type an IANA name such as America/New_York", code=ZONE_UNKNOWN, field="time_zone"
    )


# --- writing times for a member ------------------------------------------------------------------


def local(when: datetime, zone: tzinfo) -> datetime:
    """``when`` (aware; naive is taken as UTC, as SQLite stores it) in ``zone``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(zone)


def abbreviation(when: datetime, zone: tzinfo) -> str:
    """The zone's abbreviation at that instant: EST or EDT, CET or CEST, UTC."""
    return local(when, zone).tzname() or zone_name(zone)


def time_text(when: datetime, zone: tzinfo, *, year: bool = False) -> str:
    """The one way a time is written for a member: "Thu 3 Dec 09:00 EST" (with ``year``:
    "Thu 3 Dec 2026 09:00 EST")."""
    t = local(when, zone)
    day = f"{t:%a} {t.day} {t:%b}" + (f" {t.year}" if year else "")
    return f"{day} {t:%H:%M} {t.tzname()}"


def clock_text(when: datetime, zone: tzinfo) -> str:
    """Only the time of day and the abbreviation: "09:00 EST"."""
    t = local(when, zone)
    return f"{t:%H:%M} {t.tzname()}"


def span_text(start: datetime, end: datetime, zone: tzinfo) -> str:
    """From start to end on one day, with the abbreviation at the start: "09:00–10:00 EST"."""
    s, e = local(start, zone), local(end, zone)
    return f"{s:%H:%M}–{e:%H:%M} {s.tzname()}"


def day_of(when: datetime, zone: tzinfo) -> str:
    """The member's calendar day of an instant, written "Thu 3 Dec 2026"."""
    t = local(when, zone)
    return f"{t:%a} {t.day} {t:%b %Y}"


def date_of(when: datetime, zone: tzinfo) -> date:
    """The member's calendar date of an instant."""
    return local(when, zone).date()


def day_text(day: date, reckoned_in: str = UTC_NAME) -> str:
    """A date that is a whole day reckoned in some zone, naming it: "28 February 2027 (UTC)"."""
    return f"{day.day} {day:%B %Y} ({reckoned_in})"


@dataclass(frozen=True)
class MemberZone:
    """A member's zone setting as My Account shows it."""

    stored: str  # what the member chose; "" for the machine's zone
    name: str  # the zone in effect
    machine: str  # the machine's zone
    known: bool  # False when the stored name is unknown here (the machine's zone is used)
    abbreviation: str  # now

    def describe(self) -> str:
        if not self.stored:
            return f"{self.name} ({self.abbreviation}), the zone of this machine"
        if not self.known:
            return (
                f"{self.machine} ({self.abbreviation}): the zone you chose, {self.stored}, is unknown on this machine"
            )
        return f"{self.name} ({self.abbreviation})"


def member_zone(stored: str, now: datetime) -> MemberZone:
    zone = zone_for(stored)
    machine = zone_name(machine_zone())
    known = not stored or _named(stored) is not None
    return MemberZone(stored, zone_name(zone), machine, known, abbreviation(now, zone))
