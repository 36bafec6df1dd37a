"""Bad input and faults: each gives one clear line on stderr, exit 1, and leaves the data.

Full disks are real where the machine lets the tests mount a tiny tmpfs (as root); else an
``OSError(ENOSPC)`` from ``os.fsync`` stands in. The read-only database is a read-only bind
mount where possible; the ``file:...?mode=ro`` URL form is tested too.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import subprocess
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from . import harness as h

ACME = "Acme Realty"


def _mount(*args: str) -> bool:
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextmanager
def tiny_tmpfs(path: Path, size: str = "16k"):
    """A nearly full disk at ``path``: yields True if mounted, False if not possible."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path))
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", str(path)], check=True)


@contextmanager
def read_only_view(src: Path, dst: Path):
    dst.mkdir(parents=True, exist_ok=True)
    mounted = _mount("--bind", str(src), str(dst)) and _mount("-o", "remount,bind,ro", str(dst))
    try:
        yield mounted
    finally:
        if mounted or os.path.ismount(dst):
            subprocess.run(["umount", str(dst)], check=True)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> h.Place:
    saved = dict(os.environ)
    place = h.Place(tmp_path_factory.mktemp("faults") / "template")
    h.build_demo(place, contacts=200)
    os.environ.clear()
    os.environ.update(saved)
    return place


@pytest.fixture
def place(template, tmp_path) -> h.Place:
    p = h.copy_place(template, h.Place(tmp_path / "db"))
    h.use(p)
    return p


def cli(capsys, monkeypatch, *argv: str, password: str | None = None):
    return h.run_cli(list(argv), capsys, monkeypatch, password)


# --- the database itself -----------------------------------------------------------------


@pytest.mark.parametrize("damage", ["random bytes", "truncated", "zeroed header"])
def test_a_damaged_database_file(damage, place, capsys, monkeypatch) -> None:
    data = place.db.read_bytes()
    if damage == "random bytes":
        data = os.urandom(len(data))
    elif damage == "truncated":
        data = data[: len(data) // 3]
    else:
        data = b"\0" * 100 + data[100:]
    place.db.write_bytes(data)
    before = _digest(place.db)
    for argv in (
        ["team", "list", "--email", h.OWNER],
        ["team", "add", "--email", h.OWNER, "--member", "a@b.example", "--name", "A", "--role", "team-player"],
    ):
        code, out, err = cli(capsys, monkeypatch, *argv, "--database-url", place.url)
        assert h.one_line_refusal(code, err), (code, out, err)
    assert _digest(place.db) == before


def test_a_folder_where_the_database_should_be(tmp_path, capsys, monkeypatch) -> None:
    folder = tmp_path / "crm.sqlite3"
    folder.mkdir()
    code, _out, err = cli(
        capsys, monkeypatch, "team", "list", "--email", h.OWNER, "--database-url", f"sqlite:///{folder}"
    )
    assert h.one_line_refusal(code, err) and "is a folder" in err, err
    assert list(folder.iterdir()) == []


def test_a_read_only_database_mount(place, tmp_path, capsys, monkeypatch) -> None:
    """Opened read-only: what reads works (with the password, or a session made before),
    what writes is refused in one line; nothing changes and no file appears."""
    code, _out, err = cli(
        capsys,
        monkeypatch,
        "login",
        "--email",
        h.OWNER,
        "--password-stdin",
        "--database-url",
        place.url,
        password=h.PASSWORDS[h.OWNER],
    )
    assert code == 0, err
    conn = h.connect(place.db)  # fold the login back into the file
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = h.dump(place.db)
    files = sorted(p.name for p in place.root.iterdir())
    with read_only_view(place.root, place.root) as mounted:  # the same folder, now read-only
        if not mounted:
            pytest.skip("cannot bind-mount read-only here (see the file: URL test)")
        url = place.url
        code, out, err = cli(
            capsys,
            monkeypatch,
            "team",
            "add",
            "--email",
            h.OWNER,
            "--member",
            "a@b.example",
            "--name",
            "A",
            "--role",
            "team-player",
            "--password-stdin",
            "--database-url",
            url,
            password=h.PASSWORDS[h.OWNER],
        )
        assert h.one_line_refusal(code, err) and "readonly" in err, (code, out, err)
        code, out, err = cli(
            capsys,
            monkeypatch,
            "team",
            "list",
            "--email",
            h.OWNER,
            "--password-stdin",
            "--database-url",
            url,
            password=h.PASSWORDS[h.OWNER],
        )
        assert code == 0 and "Dana Whitfield" in out, err
        for argv in (["billing", "show", "--email", h.OWNER], ["admin", "closed"], ["admin", "audit"]):
            code, out, err = cli(capsys, monkeypatch, *argv, "--database-url", url)
            assert code == 0 and err == "", (argv, err)
        # a session made while it could be written, used after an hour (its use is not recorded)
        h.pin_clock(monkeypatch, "2026-03-10T13:00:00+00:00")
        code, out, err = cli(capsys, monkeypatch, "account", "impact", "--email", h.OWNER, "--database-url", url)
        assert code == 0 and "would permanently delete" in out, err
    assert h.dump(place.db) == before
    assert sorted(p.name for p in place.root.iterdir()) == files


def test_a_read_only_file_url(place, tmp_path, capsys, monkeypatch) -> None:
    before = h.dump(place.db)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///file:{place.db}?mode=ro&uri=true"
    code, out, err = cli(
        capsys,
        monkeypatch,
        "team",
        "add",
        "--email",
        h.OWNER,
        "--member",
        "a@b.example",
        "--name",
        "A",
        "--role",
        "team-player",
        "--database-url",
        url,
        "--password-stdin",
        password=h.PASSWORDS[h.OWNER],
    )
    assert h.one_line_refusal(code, err) and "readonly" in err, (code, out, err)
    code, out, err = cli(
        capsys,
        monkeypatch,
        "team",
        "list",
        "--email",
        h.OWNER,
        "--database-url",
        url,
        "--password-stdin",
        password=h.PASSWORDS[h.OWNER],
    )
    assert code == 0 and "Dana Whitfield" in out, err
    assert h.dump(place.db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db"]  # nothing made from the URL's text


def test_a_database_server_that_is_not_there(capsys, monkeypatch) -> None:
    code, _out, err = cli(
        capsys, monkeypatch, "team", "list", "--email", h.OWNER, "--database-url", "postgresql://127.0.0.1:1/x"
    )
    assert h.one_line_refusal(code, err), err
    assert "postgresql://127.0.0.1:1/x" in err


def test_a_url_that_is_not_a_database_url(capsys, monkeypatch) -> None:
    code, _out, err = cli(
        capsys, monkeypatch, "team", "list", "--email", h.OWNER, "--database-url", "no-such-scheme:/x"
    )
    assert h.one_line_refusal(code, err), err


# --- full disks ----------------------------------------------------------------------------


def _no_space(monkeypatch) -> None:
    def fsync(_fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_full_disk_while_exporting(place, tmp_path, capsys, monkeypatch) -> None:
    before = h.dump(place.db)
    out_dir = tmp_path / "full"
    with tiny_tmpfs(out_dir, "16k") as mounted:
        if not mounted:
            _no_space(monkeypatch)
        code, out, err = cli(
            capsys,
            monkeypatch,
            "account",
            "export",
            "--email",
            h.OWNER,
            "--out",
            str(out_dir),
            "--password-stdin",
            "--database-url",
            place.url,
            password=h.PASSWORDS[h.OWNER],
        )
        assert h.one_line_refusal(code, err), (code, out, err)
        assert "space" in err.lower(), err
        assert list(out_dir.iterdir()) == []  # no partial file left behind
    assert h.dump(place.db) == before


def test_a_full_disk_while_writing_the_backup(place, tmp_path, capsys, monkeypatch) -> None:
    before = h.dump(place.db)
    backups = tmp_path / "backups-full"
    with tiny_tmpfs(backups, "16k") as mounted:
        if not mounted:
            _no_space(monkeypatch)
        monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(backups))
        code, out, err = cli(
            capsys,
            monkeypatch,
            "account",
            "close",
            "--email",
            h.OWNER,
            "--confirm",
            ACME,
            "--password-stdin",
            "--database-url",
            place.url,
            password=h.PASSWORDS[h.OWNER],
        )
        assert h.one_line_refusal(code, err), (code, out, err)
        assert "space" in err.lower(), err
        leftovers = [p for p in backups.rglob("*") if p.is_file() and p.name != "owner"]
        assert leftovers == []  # (the folder's "owner" file names the database it belongs to)
    after = h.dump(place.db)
    # The close records the folder before it writes its backup there (so a sweep from another
    # HOME would find a pending file a crash left); that record stays, and is all that changed.
    assert ("backup_folders", "*") in after["setting"]
    after["setting"] = [row for row in after["setting"] if row[0] != "backup_folders"]
    assert after == before


# --- backups and restore ------------------------------------------------------------------


@pytest.fixture
def closed(place, capsys, monkeypatch) -> h.Place:
    code, _out, err = cli(
        capsys,
        monkeypatch,
        "account",
        "close",
        "--email",
        h.OWNER,
        "--confirm",
        ACME,
        "--password-stdin",
        "--database-url",
        place.url,
        password=h.PASSWORDS[h.OWNER],
    )
    assert code == 0, err
    assert len(place.files()) == 1
    return place


def _restore(place, capsys, monkeypatch):
    return cli(capsys, monkeypatch, "admin", "restore", "--email", h.OWNER, "--database-url", place.url)


def _backup_key(place: h.Place) -> bytes:
    conn = h.connect(place.db)
    try:
        return conn.execute("SELECT key FROM backup_key").fetchone()[0]
    finally:
        conn.close()


def _rewrite_manifest(place: h.Place, change) -> None:
    """Decrypt the backup, change its manifest, encrypt it again with the same key."""
    from crm_tui.services import crypto

    path = place.files()[0]
    key = _backup_key(place)
    with open(path, "rb") as f:
        plain = b"".join(crypto.decrypt_stream(f, key))
    src = zipfile.ZipFile(io.BytesIO(plain))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "manifest.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
            dst.writestr(info.filename, data)
    with open(path, "wb") as f:
        w = crypto.EncryptingWriter(f, key)
        w.write(out.getvalue())
        w.close()


@pytest.mark.parametrize("fault", ["missing", "truncated", "tampered", "unknown version", "no key"])
def test_a_damaged_backup_is_refused_and_kept(fault, closed, capsys, monkeypatch) -> None:
    path = closed.files()[0]
    if fault == "missing":
        path.unlink()
    elif fault == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif fault == "tampered":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    elif fault == "unknown version":
        _rewrite_manifest(closed, lambda m: m.update(format_version=99))
    else:
        conn = h.connect(closed.db)
        conn.execute("DELETE FROM backup_key")
        conn.close()
    before = h.dump(closed.db)
    files_before = {p: _digest(p) for p in closed.files()}
    code, out, err = _restore(closed, capsys, monkeypatch)
    assert h.one_line_refusal(code, err), (code, out, err)
    expected = {
        "missing": "missing",
        "truncated": "truncated",
        "tampered": "altered",
        "unknown version": "unknown archive format version 99",
        "no key": "no longer exists",
    }[fault]
    assert expected in err, err
    after = h.dump(closed.db)
    assert after == before, h.diff_tables(after, before)
    # kept as it was, the keyless one too: a sweep never removes a finished backup (only the
    # restore or purge that destroyed its key, recorded in its own row, may)
    assert {p: _digest(p) for p in closed.files()} == files_before


def test_restore_after_the_window(closed, capsys, monkeypatch) -> None:
    h.pin_clock(monkeypatch, h.AFTER_WINDOW)
    before = h.dump(closed.db)
    code, _out, err = _restore(closed, capsys, monkeypatch)
    assert h.one_line_refusal(code, err) and "can no longer be restored" in err, err
    assert h.dump(closed.db) == before


def test_a_wrong_password_again_and_again(place, capsys, monkeypatch) -> None:
    def data() -> dict:
        d = h.dump(place.db)
        conn = h.connect(place.db)
        cols = [r[1] for r in conn.execute("PRAGMA table_info(member)")]
        conn.close()
        # failed_logins and last_failed_at count the attempts (named: time_zone comes after them)
        keep = [i for i, c in enumerate(cols) if c not in ("failed_logins", "last_failed_at")]
        d["member"] = [tuple(r[i] for i in keep) for r in d["member"]]
        return d

    before = data()
    errors = []
    for _ in range(7):
        code, _out, err = cli(
            capsys,
            monkeypatch,
            "account",
            "close",
            "--email",
            h.OWNER,
            "--confirm",
            ACME,
            "--password-stdin",
            "--database-url",
            place.url,
            password="not-the-password",
        )
        assert h.one_line_refusal(code, err), err
        errors.append(err.strip())
    assert errors[0] == "crm-tui: wrong password"
    assert errors[-1].startswith("crm-tui: too many wrong passwords; try again in ")
    assert data() == before
    assert place.files() == []
