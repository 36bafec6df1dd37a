"""The file where ``crm-tui login`` keeps its session tokens, one per (database, email).

It lives in the user's config folder (:func:`crm_tui.paths.sessions_file`), readable by its
owner only (0600 in a 0700 folder), and is replaced whole on every change (a temporary file
renamed over it), so a reader never sees half of it. Standard library only.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from crm_tui import paths


def _key(database_url: str, email: str) -> str:
    return f"{email.strip().lower()} {database_url}"


def _load(path: Path) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError):
        return {}  # damaged: as if signed in nowhere (login writes it again)
    sessions = data.get("sessions") if isinstance(data, dict) else None
    if not isinstance(sessions, list):
        return {}
    out: dict[str, str] = {}
    for entry in sessions:
        if isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in ("database", "email", "token")):
            out[_key(entry["database"], entry["email"])] = json.dumps(entry)
    return out


def _entries(path: Path) -> list[dict]:
    return [json.loads(v) for v in _load(path).values()]


def _save(path: Path, entries: list[dict]) -> None:
    paths.ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, stat.S_IRUSR | stat.S_IWUSR)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"sessions": entries}, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def token_for(database_url: str, email: str, path: Path | None = None) -> str | None:
    """The token saved for ``email`` on that database, if any. A file others can read is not
    trusted (as ssh treats a private key), and is answered with :class:`PermissionError`."""
    path = path or paths.sessions_file()
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if st.st_mode & 0o077:
        raise PermissionError(f"{path} can be read by others; remove it and run 'crm-tui login' again")
    entry = _load(path).get(_key(database_url, email))
    return json.loads(entry)["token"] if entry else None


def save(database_url: str, email: str, token: str, path: Path | None = None) -> Path:
    path = path or paths.sessions_file()
    key = _key(database_url, email)
    entries = [e for e in _entries(path) if _key(e["database"], e["email"]) != key]
    entries.append({"database": database_url, "email": email.strip().lower(), "token": token})
    _save(path, entries)
    return path


def forget(database_url: str, email: str | None = None, path: Path | None = None) -> list[tuple[str, str]]:
    """Remove the saved sessions for that database (``email``'s only, if given); returns
    the (email, token) pairs removed."""
    path = path or paths.sessions_file()
    gone: list[dict[str, str]] = []
    kept: list[dict[str, str]] = []
    for e in _entries(path):
        mine = e["database"] == database_url and (
            email is None or _key(database_url, email) == _key(e["database"], e["email"])
        )
        (gone if mine else kept).append(e)
    if gone:
        _save(path, kept)
    return [(e["email"], e["token"]) for e in gone]


def saved(database_url: str, path: Path | None = None) -> list[str]:
    """The emails signed in on that database."""
    path = path or paths.sessions_file()
    return sorted(e["email"] for e in _entries(path) if e["database"] == database_url)
