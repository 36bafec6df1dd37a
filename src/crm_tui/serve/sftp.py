"""Each member's exports over SFTP: their own folder as the whole world, read-only.

The folder is ``<exports root>/<member id>/``; the client sees it as ``/``. A path that climbs
above it (``..``), or passes through a symbolic link anywhere, is refused; every request that
would change something (write, create, remove, rename, mkdir, setstat, link) is refused. The
server removes exports older than 7 days (:func:`sweep_exports`).
"""

from __future__ import annotations

import os
import posixpath
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
from asyncssh.sftp import (
    ACE4_APPEND_DATA,
    ACE4_WRITE_ATTRIBUTES,
    ACE4_WRITE_DATA,
    FXF_APPEND,
    FXF_CREAT,
    FXF_EXCL,
    FXF_TRUNC,
    FXF_WRITE,
)

_WRITE_FLAGS = FXF_WRITE | FXF_APPEND | FXF_CREAT | FXF_TRUNC | FXF_EXCL
_WRITE_ACCESS = ACE4_WRITE_DATA | ACE4_APPEND_DATA | ACE4_WRITE_ATTRIBUTES


def member_folder(root: Path, member_id: int) -> Path:
    """The member's exports folder (made 0700 when missing, as the app makes it)."""
    folder = root / str(int(member_id))
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _read_only() -> asyncssh.SFTPError:
    return asyncssh.SFTPPermissionDenied("read-only: this folder holds your exports to fetch")


class ExportsSFTPServer(asyncssh.SFTPServer):
    """An SFTP server confined to one folder, read-only, that follows no symbolic link."""

    def __init__(self, chan: asyncssh.SSHServerChannel, folder: Path) -> None:
        if folder.is_symlink():
            raise asyncssh.SFTPPermissionDenied("symbolic links are not served")
        real = os.path.realpath(folder)
        super().__init__(chan, chroot=os.fsencode(real))
        self._root = os.fsencode(real)

    def map_path(self, path: bytes) -> bytes:
        parts: list[bytes] = []
        for part in path.split(b"/"):
            if part in (b"", b"."):
                continue
            if part == b"..":
                if not parts:
                    raise asyncssh.SFTPPermissionDenied("outside your exports folder")
                parts.pop()
                continue
            parts.append(part)
        local = posixpath.join(self._root, *parts) if parts else self._root
        # every existing component must be what it says: no symbolic link on the way
        if os.path.realpath(local) != local:
            raise asyncssh.SFTPPermissionDenied("symbolic links are not served")
        return local

    # --- reading ------------------------------------------------------------------------

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        if pflags & _WRITE_FLAGS:
            raise _read_only()
        fd = os.open(self.map_path(path), os.O_RDONLY | os.O_NOFOLLOW)
        return os.fdopen(fd, "rb", buffering=0)

    def open56(self, path: bytes, desired_access: int, flags: int, attrs: asyncssh.SFTPAttrs) -> object:
        if desired_access & _WRITE_ACCESS or flags & asyncssh.FXF_ACCESS_DISPOSITION != asyncssh.FXF_OPEN_EXISTING:
            raise _read_only()
        fd = os.open(self.map_path(path), os.O_RDONLY | os.O_NOFOLLOW)
        return os.fdopen(fd, "rb", buffering=0)

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        """The folder's files and folders; symbolic links are left out, and ``..`` of a folder
        is described as the folder itself (never what is above the exports folder)."""
        local = self.map_path(path)
        here = asyncssh.SFTPAttrs.from_local(os.lstat(local))
        yield asyncssh.SFTPName(b".", attrs=here)
        yield asyncssh.SFTPName(b"..", attrs=here)
        with os.scandir(local) as entries:
            for entry in entries:
                info = entry.stat(follow_symlinks=False)
                if not stat.S_ISLNK(info.st_mode):
                    yield asyncssh.SFTPName(os.fsencode(entry.name), attrs=asyncssh.SFTPAttrs.from_local(info))

    def readlink(self, path: bytes) -> bytes:
        raise asyncssh.SFTPPermissionDenied("symbolic links are not served")

    # --- everything that changes something: refused ----------------------------------------

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        raise _read_only()

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise _read_only()

    def lsetstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise _read_only()

    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        raise _read_only()

    def remove(self, path: bytes) -> None:
        raise _read_only()

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise _read_only()

    def rmdir(self, path: bytes) -> None:
        raise _read_only()

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        raise _read_only()

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        raise _read_only()

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise _read_only()

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise _read_only()


class NoExportsSFTPServer(asyncssh.SFTPServer):
    """For a key that is no member's: every path is refused."""

    def map_path(self, path: bytes) -> bytes:
        raise asyncssh.SFTPPermissionDenied("this key is not linked to a member: there are no exports to fetch")


def sweep_exports(root: Path, max_age: float, now: float | None = None) -> int:
    """Remove every file under ``root`` last changed more than ``max_age`` seconds ago (and
    folders left empty below the members' own); the number of files removed. Symbolic links
    are removed as files and never followed."""
    if not root.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - max_age
    removed = 0
    for dirpath, dirnames, filenames in os.walk(root, topdown=False, followlinks=False):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            try:
                info = os.lstat(path)
                if info.st_mtime < cutoff and not stat.S_ISDIR(info.st_mode):
                    os.unlink(path)
                    removed += 1
            except FileNotFoundError:
                continue
        depth = len(Path(dirpath).relative_to(root).parts)
        if depth >= 2:  # below <root>/<member id>/
            try:
                os.rmdir(dirpath)  # only when empty
            except OSError:
                pass
    return removed
