"""My Account: the signed-in member's own settings (for now, the time zone times are shown in)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from crm_tui import db
from crm_tui.services import clock, zones
from crm_tui.services.auth import SignedIn, load_actor


def time_zone(engine: Engine, who: SignedIn) -> zones.MemberZone:
    """The member's zone as stored, and the zone in effect."""
    with db.read_session(engine) as s:
        member = load_actor(s, who)
        return zones.member_zone(member.time_zone, clock.now())


def set_time_zone(engine: Engine, who: SignedIn, name: str) -> zones.MemberZone:
    """Store the member's zone: an IANA name (checked; any case), or "" for the machine's zone.
    An unknown name is refused and nothing changes."""
    stored = zones.checked(name)
    with db.write_session(engine) as s:
        member = load_actor(s, who)
        member.time_zone = stored
    return zones.member_zone(stored, clock.now())
