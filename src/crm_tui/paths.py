"""Where crm-tui keeps its files (platformdirs locations).

The database URL can be overridden with ``--database-url`` or ``CRM_TUI_DATABASE_URL``;
backups always live beside the default data folder unless ``CRM_TUI_BACKUP_DIR`` is set.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "crm-tui"
DATABASE_URL_ENV = "CRM_TUI_DATABASE_URL"
BACKUP_DIR_ENV = "CRM_TUI_BACKUP_DIR"


def data_dir() -> Path:
    import platformdirs

    return platformdirs.user_data_path(APP_NAME)


def default_database_path() -> Path:
    return data_dir() / "crm.sqlite3"


def default_database_url() -> str:
    return f"sqlite:///{default_database_path()}"


def backup_dir() -> Path:
    override = os.environ.get(BACKUP_DIR_ENV)
    if override:
        return Path(override)
    return data_dir() / "backups"


def config_dir() -> Path:
    import platformdirs

    return platformdirs.user_config_path(APP_NAME)


def log_file() -> Path:
    """Where the command line writes the traceback of an unexpected error."""
    import platformdirs

    return platformdirs.user_log_path(APP_NAME) / "crm-tui.log"


def sessions_file() -> Path:
    """Where ``crm-tui login`` keeps its tokens (0600, in a 0700 folder)."""
    return config_dir() / "sessions.json"


def downloads_dir() -> Path:
    import platformdirs

    return platformdirs.user_downloads_path()


def resolve_database_url(explicit: str | None = None) -> str:
    """The URL in force: the explicit one, then the environment, then the default file."""
    if explicit:
        return explicit
    env = os.environ.get(DATABASE_URL_ENV)
    if env:
        return env
    return default_database_url()


def ensure_private_dir(path: Path) -> Path:
    """Create a folder readable by its owner only (0700); leave an existing one alone."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
