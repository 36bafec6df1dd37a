"""Members' SSH public keys: parsing and fingerprints (checked against the real ssh-keygen),
adding, listing and removing one's own keys, the serve front door's lookup, the keys going with
their member and their account, and the ``crm-tui ssh-key`` commands."""

from __future__ import annotations

import pytest
from conftest import ADMIN, OTHER_OWNER, OWNER, PASSWORDS, PLAYER, dump_database
from sqlalchemy import text
from ssh_kit import keygen_fingerprint, make_key, needs_keygen

from crm_tui.services import auth, ssh_keys
from crm_tui.services.errors import InvalidInput, NotFound


def rows(engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


# --- parsing and the fingerprint ----------------------------------------------------------


@needs_keygen
@pytest.mark.parametrize(
    "kind,bits", [("ed25519", None), ("rsa", 2048), ("ecdsa", 256), ("ecdsa", 384), ("ecdsa", 521)]
)
def test_the_fingerprint_is_the_one_ssh_keygen_prints(tmp_path, kind, bits):
    for _ in range(3):
        pub = make_key(tmp_path, kind, bits=bits).with_suffix(".pub")
        parsed = ssh_keys.parse_public_key(pub.read_text())
        assert parsed.fingerprint == keygen_fingerprint(pub)
        assert ssh_keys.fingerprint(parsed.algorithm, parsed.key_data) == parsed.fingerprint
        algorithm, key_data, comment = pub.read_text().split(None, 2)
        assert (parsed.algorithm, parsed.key_data, parsed.comment) == (algorithm, key_data, comment.strip())


@needs_keygen
def test_a_private_key_is_refused_and_not_echoed(tmp_path):
    private = make_key(tmp_path).read_text()
    with pytest.raises(InvalidInput) as caught:
        ssh_keys.parse_public_key(private)
    assert caught.value.code == "ssh_key.invalid"
    assert "private key" in str(caught.value)
    assert "\n" not in str(caught.value) and "BEGIN" not in str(caught.value)


@needs_keygen
def test_a_key_line_with_spaces_or_crlf_around_it_is_accepted(tmp_path):
    pub = make_key(tmp_path).with_suffix(".pub")
    parsed = ssh_keys.parse_public_key("\r\n  " + pub.read_text().strip() + "  \r\n")
    assert parsed.fingerprint == keygen_fingerprint(pub)


@pytest.mark.parametrize(
    "junk,says",
    [
        ("", "no key given"),
        ("hello world", "not an SSH public key line"),
        ("ssh-ed25519", "no key after its type"),
        ("ssh-ed25519 not*base64", "damaged"),
        # the blob of an RSA key under an Ed25519 line
        ("ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ==", "damaged"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "not supported"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\nssh-rsa AAAA", "one public key line"),
    ],
)
def test_junk_is_refused_in_one_line(junk, says):
    with pytest.raises(InvalidInput) as caught:
        ssh_keys.parse_public_key(junk)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.code == "ssh_key.invalid"


# --- the service ------------------------------------------------------------------------------


@pytest.fixture
def key_folder(tmp_path):
    folder = tmp_path / "keys"
    folder.mkdir()
    return folder


def member_id(engine, email: str) -> int:
    return auth.as_member(engine, email).member_id


@needs_keygen
def test_add_list_remove_own_keys(fresh_demo, key_folder):
    dana = member_id(fresh_demo, OWNER)
    pub1 = make_key(key_folder, comment="dana@laptop").with_suffix(".pub")
    pub2 = make_key(key_folder, "rsa", comment="dana@desk", bits=2048).with_suffix(".pub")
    first = ssh_keys.add(fresh_demo, dana, pub1.read_text())
    second = ssh_keys.add(fresh_demo, dana, pub2.read_text())
    listed = ssh_keys.list_for(fresh_demo, dana)
    assert [(k.fingerprint, k.comment) for k in listed] == [
        (keygen_fingerprint(pub1), "dana@laptop"),
        (keygen_fingerprint(pub2), "dana@desk"),
    ]
    assert [k.id for k in listed] == [first.id, second.id]
    stored = rows(fresh_demo, "SELECT account_id, member_id, algorithm, fingerprint FROM ssh_key ORDER BY id")
    account = auth.as_member(fresh_demo, OWNER).account_id
    assert stored == [
        (account, dana, "ssh-ed25519", first.fingerprint),
        (account, dana, "ssh-rsa", second.fingerprint),
    ]
    ssh_keys.remove(fresh_demo, dana, first.fingerprint)
    assert [k.fingerprint for k in ssh_keys.list_for(fresh_demo, dana)] == [second.fingerprint]
    ssh_keys.remove(fresh_demo, dana, second.id)
    assert ssh_keys.list_for(fresh_demo, dana) == []


@needs_keygen
def test_one_key_belongs_to_one_member(fresh_demo, key_folder):
    dana, marcus = member_id(fresh_demo, OWNER), member_id(fresh_demo, ADMIN)
    line = make_key(key_folder).with_suffix(".pub").read_text()
    ssh_keys.add(fresh_demo, dana, line)
    before = dump_database(fresh_demo)
    with pytest.raises(InvalidInput, match="linked to your account already"):
        ssh_keys.add(fresh_demo, dana, line)
    with pytest.raises(InvalidInput, match="another member") as caught:
        ssh_keys.add(fresh_demo, marcus, line.replace("me@laptop", "other comment"))
    assert caught.value.code == "ssh_key.taken"
    assert OWNER not in str(caught.value)
    assert dump_database(fresh_demo) == before


@needs_keygen
def test_nobody_sees_or_removes_another_members_key(fresh_demo, key_folder):
    dana, priya = member_id(fresh_demo, OWNER), member_id(fresh_demo, PLAYER)
    key = ssh_keys.add(fresh_demo, priya, make_key(key_folder).with_suffix(".pub").read_text())
    assert ssh_keys.list_for(fresh_demo, dana) == []
    with pytest.raises(NotFound):
        ssh_keys.remove(fresh_demo, dana, key.fingerprint)
    with pytest.raises(NotFound):
        ssh_keys.remove(fresh_demo, dana, key.id)
    assert [k.id for k in ssh_keys.list_for(fresh_demo, priya)] == [key.id]


@needs_keygen
def test_member_for_key_names_the_member_while_they_may_sign_in(fresh_demo, key_folder):
    from crm_tui.services import team

    priya = member_id(fresh_demo, PLAYER)
    key = ssh_keys.add(fresh_demo, priya, make_key(key_folder).with_suffix(".pub").read_text())
    assert ssh_keys.member_for_key(fresh_demo, key.algorithm, key.key_data) == priya
    assert ssh_keys.member_for_key(fresh_demo, "ssh-rsa", key.key_data) is None  # not that type
    rsa = ssh_keys.add(fresh_demo, priya, make_key(key_folder, "rsa", bits=2048).with_suffix(".pub").read_text())
    for name in ("ssh-rsa", "rsa-sha2-256", "rsa-sha2-512"):  # as asyncssh may name an RSA key
        assert ssh_keys.member_for_key(fresh_demo, name, rsa.key_data) == priya
    other = ssh_keys.parse_public_key(make_key(key_folder).with_suffix(".pub").read_text())
    assert ssh_keys.member_for_key(fresh_demo, other.algorithm, other.key_data) is None
    assert ssh_keys.member_for_key(fresh_demo, "ssh-ed25519", "not base64!") is None
    team.remove_member(fresh_demo, auth.as_member(fresh_demo, OWNER), priya)
    assert ssh_keys.member_for_key(fresh_demo, key.algorithm, key.key_data) is None
    assert rows(fresh_demo, "SELECT count(*) FROM ssh_key") == [(0,)]  # the keys went with her


@needs_keygen
def test_closing_deletes_the_keys_and_restore_brings_them_back(fresh_demo, key_folder, tmp_path, monkeypatch):
    from crm_tui.services import closing

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    dana, marcus = member_id(fresh_demo, OWNER), member_id(fresh_demo, ADMIN)
    sam = member_id(fresh_demo, OTHER_OWNER)
    k1 = ssh_keys.add(fresh_demo, dana, make_key(key_folder).with_suffix(".pub").read_text())
    k2 = ssh_keys.add(fresh_demo, marcus, make_key(key_folder).with_suffix(".pub").read_text())
    k3 = ssh_keys.add(fresh_demo, sam, make_key(key_folder).with_suffix(".pub").read_text())
    before = rows(fresh_demo, "SELECT * FROM ssh_key ORDER BY id")
    closing.close_account(fresh_demo, auth.as_member(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    assert rows(fresh_demo, "SELECT id FROM ssh_key") == [(k3.id,)]  # the other account's stays
    assert ssh_keys.member_for_key(fresh_demo, k1.algorithm, k1.key_data) is None
    closing.restore(fresh_demo, OWNER)
    assert rows(fresh_demo, "SELECT * FROM ssh_key ORDER BY id") == before
    assert ssh_keys.member_for_key(fresh_demo, k2.algorithm, k2.key_data) == marcus
    # the keys came back under their own ids; the next key added gets a new one (PostgreSQL's sequence)
    k4 = ssh_keys.add(fresh_demo, marcus, make_key(key_folder).with_suffix(".pub").read_text())
    assert k4.id not in {r[0] for r in before}


@needs_keygen
def test_an_export_restores_with_its_keys_and_an_older_one_without_them(fresh_demo, key_folder, tmp_path):
    """Export -> restore is lossless, the keys included; an archive written before keys were
    (no ssh_keys.json) still restores. Importing an export as a new account brings no key:
    a key is a way in, and the new account's members are other rows."""
    import json
    import zipfile

    from crm_tui import db
    from crm_tui.services import export, importer

    dana = member_id(fresh_demo, OWNER)
    ssh_keys.add(fresh_demo, dana, make_key(key_folder).with_suffix(".pub").read_text())
    ssh_keys.add(fresh_demo, member_id(fresh_demo, ADMIN), make_key(key_folder).with_suffix(".pub").read_text())
    account = auth.as_member(fresh_demo, OWNER).account_id
    path = export.export_account(fresh_demo, auth.as_member(fresh_demo, OWNER), out_dir=tmp_path).path
    # every column but the time, which each backend hands back as its own type
    columns = "id, account_id, member_id, algorithm, key_data, comment, fingerprint"
    keys = rows(fresh_demo, f"SELECT {columns} FROM ssh_key WHERE account_id = :a ORDER BY id", a=account)
    assert len(keys) == 2

    fresh = db.get_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    export.restore_from_archive(fresh, path)
    assert rows(fresh, f"SELECT {columns} FROM ssh_key ORDER BY id") == keys
    assert rows(fresh, "SELECT count(*) FROM ssh_key WHERE created_at IS NOT NULL") == [(2,)]

    older = tmp_path / "older.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(older, "w") as dst:
        manifest = json.loads(src.read("manifest.json"))
        del manifest["members"]["ssh_keys.json"]
        for info in src.infolist():
            if info.filename == "manifest.json":
                dst.writestr(info, json.dumps(manifest))
            elif info.filename != "ssh_keys.json":
                dst.writestr(info, src.read(info.filename))
    other = db.get_engine(f"sqlite:///{tmp_path / 'other.db'}")
    export.restore_from_archive(other, older)
    assert rows(other, "SELECT count(*) FROM ssh_key") == [(0,)]
    assert rows(other, "SELECT count(*) FROM member") == rows(fresh, "SELECT count(*) FROM member")

    third = db.get_engine(f"sqlite:///{tmp_path / 'third.db'}")
    importer.import_account(third, path, email="new@example.org", account_name="Acme Again", password="a-new-password")
    assert rows(third, "SELECT count(*) FROM ssh_key") == [(0,)]


# --- the command line ---------------------------------------------------------------------


@pytest.fixture
def cli(fresh_demo, monkeypatch, capsys, tmp_path):
    import io
    import sys

    from crm_tui import cli as cli_module

    monkeypatch.setenv("CRM_TUI_DATABASE_URL", str(fresh_demo.url))
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))

    def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        try:
            code = cli_module.main(argv)
        except SystemExit as exc:
            code = exc.code
        return (code, *capsys.readouterr())

    return run


@needs_keygen
def test_cli_adds_lists_and_removes_a_key_with_the_password(cli, fresh_demo, key_folder):
    pub = make_key(key_folder, comment="priya@laptop").with_suffix(".pub")
    fp = keygen_fingerprint(pub)
    pw = PASSWORDS[PLAYER] + "\n"
    code, out, err = cli(["ssh-key", "add", "--email", PLAYER, "--key", str(pub), "--password-stdin"], pw)
    assert (code, err) == (0, "")
    assert out == f"Linked {fp} (ssh-ed25519 priya@laptop) to {PLAYER}.\n"
    code, out, err = cli(["ssh-key", "list", "--email", PLAYER, "--password-stdin"], pw)
    assert code == 0 and out.startswith(fp) and "priya@laptop" in out and len(out.splitlines()) == 1
    code, out, err = cli(["ssh-key", "remove", "--email", PLAYER, "--fingerprint", fp, "--password-stdin"], pw)
    assert (code, out) == (0, f"Removed {fp} from {PLAYER}.\n")
    assert rows(fresh_demo, "SELECT count(*) FROM ssh_key") == [(0,)]
    code, out, err = cli(["ssh-key", "list", "--email", PLAYER, "--password-stdin"], pw)
    assert (code, out) == (0, f"{PLAYER} has no SSH keys.\n")


@needs_keygen
def test_cli_reads_the_key_from_stdin_after_the_password_line(cli, fresh_demo, key_folder):
    pub = make_key(key_folder).with_suffix(".pub")
    argv = ["ssh-key", "add", "--email", OWNER, "--key", "-", "--password-stdin"]
    code, out, err = cli(argv, PASSWORDS[OWNER] + "\n" + pub.read_text())
    assert (code, err) == (0, "")
    assert rows(fresh_demo, "SELECT fingerprint FROM ssh_key") == [(keygen_fingerprint(pub),)]


@needs_keygen
def test_cli_with_a_login_session_needs_no_password(cli, fresh_demo, key_folder):
    pub = make_key(key_folder).with_suffix(".pub")
    assert cli(["login", "--email", ADMIN, "--password-stdin"], PASSWORDS[ADMIN] + "\n")[0] == 0
    code, out, err = cli(["ssh-key", "add", "--email", ADMIN, "--key", "-"], pub.read_text())
    assert (code, err) == (0, "")
    code, out, err = cli(["ssh-key", "list", "--email", ADMIN])
    assert code == 0 and out.startswith(keygen_fingerprint(pub))


@needs_keygen
@pytest.mark.parametrize(
    "case,says",
    [
        ("private", "that is a private key"),
        ("junk", "not an SSH public key line"),
        ("missing", "cannot read"),
        ("wrong password", "wrong password"),
        ("no session", "not signed in as"),
        ("unknown fingerprint", "you have no SSH key with that fingerprint"),
        ("someone else's key", "linked to another member already"),
    ],
)
def test_cli_bad_input_is_one_line_and_changes_nothing(cli, fresh_demo, key_folder, case, says):
    private = make_key(key_folder)
    pub = private.with_suffix(".pub")
    ssh_keys.add(fresh_demo, member_id(fresh_demo, OTHER_OWNER), make_key(key_folder).with_suffix(".pub").read_text())
    theirs = sorted(key_folder.glob("*.pub"))[-1]
    junk = key_folder / "junk.pub"
    junk.write_text("hello there\n")
    pw = PASSWORDS[OWNER] + "\n"
    add = ["ssh-key", "add", "--email", OWNER, "--password-stdin", "--key"]
    argv, stdin = {
        "private": ([*add, str(private)], pw),
        "junk": ([*add, str(junk)], pw),
        "missing": ([*add, str(key_folder / "nothing.pub")], pw),
        "wrong password": ([*add, str(pub)], "nope\n"),
        "no session": (["ssh-key", "add", "--email", OWNER, "--key", str(pub)], ""),
        "unknown fingerprint": (
            ["ssh-key", "remove", "--email", OWNER, "--password-stdin", "--fingerprint", keygen_fingerprint(theirs)],
            pw,
        ),
        "someone else's key": ([*add, str(theirs)], pw),
    }[case]
    before = dump_database(fresh_demo)
    code, out, err = cli(argv, stdin)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and says in err, err
    assert "Traceback" not in err and "BEGIN" not in err
    after = dump_database(fresh_demo)
    before.pop("member"), after.pop("member")  # a wrong password is counted against the member
    assert after == before


# --- PostgreSQL ---------------------------------------------------------------------------------


@needs_keygen
def test_the_keys_on_postgresql(postgres_server, key_folder):
    """The migration makes the table, and adding, the unique key, the lookup, removal and the
    key going with its member work the same on the shared database."""
    import uuid

    from crm_tui import db
    from crm_tui.services import demo, team

    name = f"keys_{uuid.uuid4().hex[:8]}"
    postgres_server.psql(f"CREATE DATABASE {name}")
    engine = db.get_engine(postgres_server.url(name))
    try:
        demo.create(engine, contacts=5, seed=3)
        dana, priya = member_id(engine, OWNER), member_id(engine, PLAYER)
        pub = make_key(key_folder).with_suffix(".pub")
        key = ssh_keys.add(engine, priya, pub.read_text())
        assert key.fingerprint == keygen_fingerprint(pub)
        with pytest.raises(InvalidInput, match="another member"):
            ssh_keys.add(engine, dana, pub.read_text())
        assert ssh_keys.member_for_key(engine, key.algorithm, key.key_data) == priya
        mine = ssh_keys.add(engine, dana, make_key(key_folder).with_suffix(".pub").read_text())
        assert [k.id for k in ssh_keys.list_for(engine, dana)] == [mine.id]
        ssh_keys.remove(engine, dana, mine.fingerprint)
        team.remove_member(engine, auth.as_member(engine, OWNER), priya)
        assert ssh_keys.member_for_key(engine, key.algorithm, key.key_data) is None
        assert rows(engine, "SELECT count(*) FROM ssh_key") == [(0,)]
    finally:
        engine.dispose()
