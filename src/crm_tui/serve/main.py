"""``crm-tui serve``: set everything up, print where it listens, serve until stopped."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from crm_tui.serve import hostkey, log
from crm_tui.serve.config import ServeConfig
from crm_tui.serve.sandbox import Sandboxes


def run(config: ServeConfig, out: TextIO | None = None) -> int:
    """Serve until SIGINT or SIGTERM; 0 after a clean stop. Refusals (a bad host key, a
    database that cannot be opened) raise the domain's errors, which the CLI words."""
    out = out or sys.stdout
    handler = log.setup()
    try:
        key, created = hostkey.load_or_create(config.host_key)
        fingerprint = hostkey.fingerprint(key)
        print(f"{'new host key' if created else 'host key'}: {fingerprint} ({config.host_key})", file=out, flush=True)
        member_for_key = None
        sandboxes = None
        if config.demo:
            sandboxes = Sandboxes()
            print(f"seeding the demo template ({config.demo_contacts} contacts) ...", file=out, flush=True)
            sandboxes.seed(config.demo_contacts)
        else:
            member_for_key = _key_lookup(config.database_url)
            config.exports_root.mkdir(mode=0o700, parents=True, exist_ok=True)

        def ready(host: str, port: int) -> None:
            shown = f"[{host}]" if ":" in host else host
            mode = "public demo" if config.demo else "team"
            print(f"listening on {shown}:{port} ({mode}); ctrl+c stops", file=out, flush=True)

        try:
            from crm_tui.serve.server import serve

            ended = asyncio.run(serve(config, key, member_for_key, sandboxes, ready))
        finally:
            if sandboxes is not None:
                sandboxes.close()
        print(f"stopped ({ended} session{'s' if ended != 1 else ''} ended)", file=out, flush=True)
        return 0
    finally:
        log.LOGGER.removeHandler(handler)


def _key_lookup(database_url: str):
    """``(algorithm, base64 key) -> member id or None`` on the served database (opened, and
    migrated, now: a database that cannot be used stops the server before it listens)."""
    from crm_tui import db
    from crm_tui.services import ssh_keys

    engine = db.get_engine(database_url)

    def member_for_key(algorithm: str, key_data: str) -> int | None:
        return ssh_keys.member_for_key(engine, algorithm, key_data)

    return member_for_key
