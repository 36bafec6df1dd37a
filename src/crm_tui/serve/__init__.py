"""``crm-tui serve``: the app over SSH, for a team (``ssh -p 2222 host``) and as a public demo.

One app process per session on its own PTY (:mod:`.child`), identity from the key that
completed authentication (:mod:`.server`), each member's exports over SFTP, read-only
(:mod:`.sftp`), limits (:mod:`.limits`), private throw-away demos (:mod:`.sandbox`) and a
one-line log (:mod:`.log`). Nothing here imports Textual: the app runs in the child.
"""

from __future__ import annotations

from crm_tui.serve.config import Limits, ServeConfig, parse_duration

__all__ = ["Limits", "ServeConfig", "parse_duration"]
