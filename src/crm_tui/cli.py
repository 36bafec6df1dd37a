"""The ``crm-tui`` command line.

Exit codes: 0 done, 1 refused (one line on stderr says why), 2 usage. A bug exits 1 too, with
one line naming the log file that holds its traceback.
``--help`` and ``--version`` import neither Textual nor the database stack: every command
imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from crm_tui import __version__
from crm_tui.services.errors import CLI_REFUSED, DomainError
from crm_tui.text import plural

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class Refused(DomainError):
    """A one-line refusal from the CLI itself (exit 1)."""

    code = CLI_REFUSED


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        self.exit(EXIT_USAGE, f"crm-tui: {message} (see '{self.prog} --help')\n")


def _stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _read_password(args) -> str:
    """The acting member's password: from standard input with ``--password-stdin``, else
    asked without echo when standard input is a terminal. Read once per command."""
    cached = getattr(args, "_password", None)
    if cached is not None:
        return cached
    import getpass

    try:
        if getattr(args, "password_stdin", False):
            if _stdin_is_terminal():  # typed at a terminal: don't echo it
                line = getpass.getpass("Password: ")
            else:
                line = sys.stdin.readline() if sys.stdin is not None else ""
        elif _stdin_is_terminal():
            line = getpass.getpass(f"Password for {getattr(args, 'email', '')}: ")
        else:
            raise Refused(
                "this step needs the password: type it at a terminal, or pass --password-stdin and pipe it in"
            )
        line.encode("utf-8")  # bytes that are no UTF-8 may arrive as lone surrogates
    except (UnicodeDecodeError, UnicodeEncodeError):
        raise Refused("the password on standard input is not valid text (UTF-8)") from None
    password = line.rstrip("\r\n")
    if not password:
        raise Refused("no password was given on standard input")
    args._password = password
    return password


def _database_key(args) -> str:
    """The database the command runs on, as the session file names it (an absolute path
    for a SQLite file, so a session made in one folder works from another)."""
    from crm_tui import db, paths

    url = paths.resolve_database_url(args.database_url)
    try:
        path = db.sqlite_path(url)
    except Exception:
        return url
    return f"sqlite:///{path.expanduser().resolve()}" if path is not None else url


def _engine(args, *, may_create: bool = False, resume: bool = True):
    """The command's database, opened; the first time in this process, what a close that was
    interrupted left is put right first (:func:`closing.resume`: a ``closing`` mark whose closer
    died undone, a closed account's unfinished deletion finished), each thing done said on
    stderr."""
    from crm_tui import db

    _check_database_url(args, may_create)
    engine = db.get_engine(args.database_url)
    if resume and engine not in _RESUMED:
        _RESUMED.add(engine)
        _resume_interrupted(engine)
    return engine


_RESUMED: set = set()  # the engines this process has resumed the interrupted closes of


def _resume_interrupted(engine) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from crm_tui import db
    from crm_tui.services import closing
    from crm_tui.text import first_line

    try:
        done = closing.resume(engine)
    except (DomainError, db.DatabaseError, SQLAlchemyError, OSError) as exc:
        # the command goes on; the next crm-tui process tries again
        print(f"crm-tui: warning: an interrupted close could not be finished: {first_line(exc)}", file=sys.stderr)
        return
    for line in done:
        print(f"crm-tui: {line}", file=sys.stderr)


def _check_database_url(args, may_create: bool = False) -> None:
    from crm_tui import db, paths

    url = paths.resolve_database_url(args.database_url)
    if not (may_create or getattr(args, "create", False)) and url != paths.default_database_url():
        try:
            path = db.sqlite_path(url)
        except Exception:
            path = None  # get_engine says what is wrong with the URL
        if path is not None:
            _refuse_to_create(path)


def _refuse_to_create(path) -> None:
    """Only the default database is made on first use: a file another URL names must be
    there already (a typo would otherwise make an empty database somewhere), and be no
    empty file (a schema would be written into it). ``--create`` makes one."""
    from crm_tui.text import clean

    if path.is_dir():
        return  # get_engine says it is a folder
    if not path.exists():
        parent = path.parent
        if parent.exists() and not parent.is_dir():
            raise Refused(f"{clean(parent)} is not a folder")
        raise Refused(f"there is no database at {clean(path)}; pass --create to make a new one there")
    try:
        empty = path.stat().st_size == 0
    except OSError:
        return
    if empty:
        raise Refused(f"{clean(path)} is an empty file, not a crm-tui database; pass --create to make one in it")


def _member(args, engine, email: str | None = None):
    """The member the command names, before any authentication."""
    from crm_tui.services import auth
    from crm_tui.services.errors import NotFound

    try:
        return auth.as_member(engine, email or args.email)
    except NotFound:
        if email is None and getattr(args, "password_stdin", False):
            # A command that asks for the password: the right one of someone whose account
            # was closed is told so, as signing in tells them (one hash checked either way).
            auth.refuse_if_closed(engine, args.email, _read_password(args))
        raise


def _who(args, *, destructive: bool | None = None):
    """The acting member, authenticated. A destructive step checks the password itself
    (whatever session there is), so here it is only named; any other command needs the
    member's password or a ``crm-tui login`` session of theirs on this database."""
    if destructive is None:
        destructive = getattr(args, "destructive", False)
    engine = _engine(args)
    who = _member(args, engine)
    if not destructive:
        _authenticate(args, engine, who)
    return who


def _authenticate(args, engine, who) -> None:
    from crm_tui import session_file
    from crm_tui.services import auth, sessions
    from crm_tui.services.errors import AuthenticationFailed
    from crm_tui.text import clean

    if not getattr(args, "password_stdin", False):
        token = session_file.token_for(_database_key(args), who.email)
        problem = f"not signed in as {clean(who.email)}"
        if token is not None:
            try:
                checked = sessions.check(engine, token, who.member_id)
            except AuthenticationFailed as exc:
                problem = f"{exc} ({clean(who.email)})"
            else:
                if checked.stale:  # recorded once the command has done its work
                    args._touch = (engine, checked.session_id)
                return
        if not _stdin_is_terminal():
            raise Refused(f"{problem}: run 'crm-tui login --email {clean(who.email)}' first, or pass --password-stdin")
    auth.reauthenticate(engine, who.member_id, _read_password(args))


def _record_session_use(args) -> None:
    """After a command a session authorized: it lasts 12 hours from now. The command has
    done its work and said so by then: a database that cannot record it (opened read-only,
    or busy past the timeout) leaves the session ending 12 hours after its last recorded use,
    and the command still succeeds."""
    touch = getattr(args, "_touch", None)
    if touch is None:
        return
    from sqlalchemy.exc import SQLAlchemyError

    from crm_tui import db
    from crm_tui.services import sessions

    engine, session_id = touch
    try:
        sessions.touch(engine, session_id)
    except (SQLAlchemyError, db.DatabaseError):
        pass


def _print_json(payload) -> None:
    """JSON escapes C0 controls itself; DEL, C1 (such as CSI, U+009B), bidi overrides and
    zero-width characters in user text (:data:`crm_tui.text.INVISIBLE`) are escaped here too,
    so none reaches a terminal raw. The JSON means the same."""
    import re

    from crm_tui.text import INVISIBLE

    text = json.dumps(payload, indent=2, ensure_ascii=False, default=str)
    print(re.sub(f"[{INVISIBLE}]", lambda m: f"\\u{ord(m.group()):04x}", text))


def _say(text: str, *, multiline: bool = False) -> None:
    """Print user-originated text to a terminal with control characters made visible."""
    from crm_tui.text import clean

    print(clean(text, multiline=multiline))


def _moved(result) -> str:
    """What removing a member (or leaving) did with their records, counted in words."""
    return (
        f"{plural(result.contacts_moved, 'contact')} and {plural(result.todos_moved, 'to-do')} "
        f"moved to {result.owner_name}; {plural(result.appointments_deleted, 'appointment')} deleted."
    )


# --- commands ---------------------------------------------------------------------------


def cmd_app(args) -> int:
    _check_database_url(args)
    from crm_tui.tui.launch import run_app

    return run_app(args.database_url)


def cmd_paths(args) -> int:
    from crm_tui import db, paths

    url = paths.resolve_database_url(args.database_url)
    print(f"database:  {db.sqlite_path(url) or url}")
    print(f"data:      {paths.data_dir()}")
    print(f"backups:   {paths.backup_dir()}")
    print(f"downloads: {paths.downloads_dir()}")
    print(f"sessions:  {paths.sessions_file()}")
    return EXIT_OK


def cmd_demo(args) -> int:
    from crm_tui.services import demo

    # demo makes a database to try things in: it may make one wherever the URL says
    users = demo.create(_engine(args, may_create=True), contacts=args.contacts, seed=args.seed, reset=args.reset)
    print(f"Demo accounts ready: {demo.ACME} ({plural(args.contacts, 'contact')}) and {demo.BIRCH}.")
    print(f"{'email':32} {'role':13} {'password':12} account")
    for u in users:
        print(f"{u.email:32} {u.role:13} {u.password:12} {u.account}")
    return EXIT_OK


def cmd_serve(args) -> int:
    from pathlib import Path

    from crm_tui import paths
    from crm_tui.serve import Limits, ServeConfig
    from crm_tui.serve.main import run

    if args.demo and args.database_url:
        raise Refused("--demo gives every visitor a database of their own: leave out --database-url")
    if not args.demo:
        _check_database_url(args)
    config = ServeConfig(
        host=args.host,
        port=args.port,
        database_url="" if args.demo else paths.resolve_database_url(args.database_url),
        demo=args.demo,
        host_key=Path(args.host_key) if args.host_key else paths.data_dir() / "ssh_host_ed25519_key",
        exports_root=Path(args.exports_dir) if args.exports_dir else paths.data_dir() / "served-exports",
        limits=Limits(
            login_timeout=args.login_timeout,
            idle_timeout=args.idle_timeout,
            max_sessions=args.max_sessions,
            max_sessions_per_member=args.max_sessions_per_member,
            connections_per_ip=args.per_ip_limit,
            connections_window=args.per_ip_window,
            demo_lifetime=args.demo_lifetime,
        ),
        demo_contacts=args.demo_contacts,
    )
    return run(config)


def cmd_account_impact(args) -> int:
    from crm_tui.services import accounts

    impact = accounts.impact(_engine(args), _who(args))
    if args.json:
        _print_json(impact.as_json())
        return EXIT_OK
    _say(f"Closing {impact.account_name} ({impact.plan_name}) would permanently delete:")
    for label, n in impact.lines():
        print(f"  {n:>9,}  {label}")
    if impact.members_losing_access:
        print("Team members who would lose access:")
        for m in impact.members_losing_access:
            _say(f"  {m.name} <{m.email}> ({m.role})")
    if impact.messages_active:
        _say(f"Messages is active on {impact.messages_phone}. {accounts.TWILIO_NOTE}")
    print(f"Questions first? Write to {accounts.SUPPORT_EMAIL} - we may be able to help.")
    return EXIT_OK


def cmd_account_close(args) -> int:
    from crm_tui.services import closing, survey

    # The survey answer is checked before closing: a refusal after the close would say
    # "refused" (exit 1) about an account that is already gone.
    if args.comment and not args.reason:
        raise Refused("--comment goes with --reason (why you are leaving); nothing was closed")
    if args.reason:
        try:
            survey.checked(args.reason, args.comment or "")
        except DomainError as exc:
            raise Refused(f"{exc}; nothing was closed") from None
    engine = _engine(args)
    who = _who(args, destructive=True)
    password = _read_password(args)
    receipt = closing.close_account(engine, who, args.confirm, password)
    _say(closing.receipt_text(receipt), multiline=True)
    print(f"Database: {receipt.scrubbed}.")
    if args.reason:
        try:
            survey.submit(
                engine,
                args.reason,
                args.comment or "",
                plan_code=receipt.plan_code,
                tenure_months=receipt.tenure_months,
                team_size=receipt.team_size,
            )
        except Exception as exc:  # the close stands: report the optional survey, still exit 0
            if os.environ.get("CRM_TUI_DEBUG"):
                raise
            message = _refusal(exc) or _unexpected(exc)
            print(f"crm-tui: the account is closed; your survey answer was not saved ({message})", file=sys.stderr)
        else:
            print("Thank you for telling us why you left.")
    return EXIT_OK


def cmd_account_export(args) -> int:
    from crm_tui.services import auth, export

    engine = _engine(args)
    who = _who(args, destructive=True)
    auth.confirm_with_password(engine, who, "data.export", _read_password(args))
    with _out_dir(args) as out:
        result = export.export_account(engine, who, out_dir=out)
    print(f"{result.path}")
    print(f"size {plural(result.size, 'byte')}  sha256 {result.sha256}")
    return EXIT_OK


def cmd_account_import(args) -> int:
    from crm_tui.services import importer

    password = _read_password(args)
    if sys.stdin is not None and sys.stdin.isatty():  # a new password typed unseen: once more
        import getpass

        if getpass.getpass("Again: ") != password:
            raise Refused("the two passwords differ; nothing was imported")
    result = importer.import_account(
        _engine(args), args.archive, email=args.email, account_name=args.name, password=password
    )
    total = sum(result.counts.values())
    _say(
        f"Imported {result.account_name} (account {result.account_id}): {total:,} rows. "
        f"Its owner is {result.owner_email}."
    )
    for kind, n in result.counts.items():
        print(f"  {n:>9,}  {archive_label(kind)}")
    if result.members:
        print("Team members, each with a one-time temporary password to hand over (shown only now):")
        for m in result.members:
            _say(f"  {m.email}  {m.role}  {m.password}")
    for address in result.not_members:
        _say(f"Not back as a team member (the email is in use): {address}; their records are the owner's now.")
    return EXIT_OK


def archive_label(kind: str) -> str:
    from crm_tui.services.archive import KIND_LABELS

    return KIND_LABELS.get(kind, kind)


def cmd_account_time_zone(args) -> int:
    from crm_tui.services import profile

    engine = _engine(args)
    who = _who(args)
    if args.set is not None:
        zone = profile.set_time_zone(engine, who, args.set)
    else:
        zone = profile.time_zone(engine, who)
    _say(f"Times are shown in {zone.describe()}.")
    return EXIT_OK


def cmd_contacts_export(args) -> int:
    from crm_tui.services import auth, export

    ids = None
    if args.ids is not None:
        try:
            ids = [int(part) for part in args.ids.split(",") if part.strip()]
        except ValueError:
            raise Refused("--ids takes contact ids separated by commas, such as 3,7,12") from None
        if not ids:
            raise Refused("--ids names no contact")
    engine = _engine(args)
    who = _who(args, destructive=True)
    auth.confirm_with_password(engine, who, "data.export", _read_password(args))
    with _out_dir(args) as out:
        result = export.export_contacts(engine, who, ids, args.format, out_dir=out)
    print(f"{result.path}")
    print(f"{plural(result.counts['contacts'], 'contact')}  size {plural(result.size, 'byte')}  sha256 {result.sha256}")
    return EXIT_OK


@contextmanager
def _out_dir(args) -> Iterator[str | None]:
    """``--out DIR``: an empty name is refused (it would mean the current folder); a folder
    that does not exist is made (0700, with its parents), and taken away again, if still
    empty, when the export fails."""
    from crm_tui.text import clean

    if args.out is None:
        yield None
        return
    if not args.out.strip():
        raise Refused("--out names no folder (for the current folder, write --out .)")
    from pathlib import Path

    folder = Path(args.out).expanduser()
    made: list[Path] = []
    if not folder.exists() and not folder.is_symlink():
        missing = [folder, *(p for p in folder.parents if not p.exists())]
        try:
            for p in reversed(missing):  # the outermost first, each private
                p.mkdir(mode=0o700)
                made.insert(0, p)
        except OSError as exc:
            for p in made:
                with suppress(OSError):
                    p.rmdir()
            raise Refused(f"cannot create the folder {clean(folder)}: {exc.strerror or exc}") from None
    try:
        yield str(folder)
    except BaseException:
        for p in made:  # the deepest first
            try:
                p.rmdir()
            except OSError:
                break
        raise


def cmd_login(args) -> int:
    from crm_tui import session_file
    from crm_tui.services import auth, sessions

    engine = _engine(args)
    # as signing in to the app: throttled, and the same answer for an unknown email
    who = auth.sign_in(engine, args.email, _read_password(args))
    token = sessions.create(engine, who, label=_session_label())
    try:
        path = session_file.save(_database_key(args), who.email, token)
    except BaseException:
        sessions.end(engine, token)
        raise
    _say(
        f"Signed in as {who.email} ({who.role}, {who.account_name}). Commands run as you without "
        "the password until 12 hours pass unused or 'crm-tui logout'; closing, exporting, transferring, "
        "leaving and cancelling Messages still ask for it."
    )
    _say(f"The session is kept in {path}.")
    return EXIT_OK


def _session_label() -> str:
    import socket

    from crm_tui.services import audit

    return f"command line, {audit.operator().split(':', 1)[1]}@{socket.gethostname()}"


def cmd_logout(args) -> int:
    from crm_tui import session_file
    from crm_tui.services import sessions

    key = _database_key(args)
    saved = [e for e in session_file.saved(key) if args.email is None or e.lower() == args.email.strip().lower()]
    if not saved:
        who = f" as {args.email.strip()}" if args.email else ""
        raise Refused(f"not signed in{who} on this database")
    engine = _engine(args)
    for email in saved:
        token = session_file.token_for(key, email)
        if token is not None:
            sessions.end(engine, token)
        session_file.forget(key, email)
        _say(f"Signed out {email}.")
    return EXIT_OK


def cmd_team_list(args) -> int:
    from crm_tui.services import team

    for m in team.list_members(_engine(args), _who(args)):
        _say(
            f"{m.id:>5}  {m.name:24} {m.email:32} {m.role:13} "
            f"{plural(m.contacts, 'contact')}, {plural(m.todos, 'to-do')}, "
            f"{plural(m.appointments, 'appointment')}"
        )
    return EXIT_OK


def cmd_team_add(args) -> int:
    from crm_tui.services import team

    new = team.add_member(_engine(args), _who(args), args.member, args.name, args.role.replace("-", " "))
    _say(f"Added {new.email} as {new.role}. Temporary password: {new.temporary_password}")
    return EXIT_OK


def cmd_team_remove(args) -> int:
    from crm_tui.services import team

    engine = _engine(args)
    who = _who(args)
    result = team.remove_member(engine, who, team.find_in_account(engine, who, args.member))
    _say(f"Removed {result.name}: {_moved(result)}")
    return EXIT_OK


def cmd_team_transfer(args) -> int:
    from crm_tui.services import team

    engine = _engine(args)
    who = _who(args, destructive=True)
    target = team.find_in_account(engine, who, args.to)
    name = team.transfer_ownership(engine, who, target, _read_password(args))
    _say(f"{name} now owns the account; you are an administrator.")
    return EXIT_OK


def cmd_team_leave(args) -> int:
    from crm_tui.services import team

    result = team.leave_account(_engine(args), _who(args, destructive=True), _read_password(args))
    _say(f"You left the account: {_moved(result)}")
    return EXIT_OK


def _key_text(args) -> str:
    """The public key ``--key`` names: a file, or ``-`` for standard input (after the password's
    line when ``--password-stdin`` reads it from there too)."""
    from crm_tui.text import clean

    if args.key == "-":
        text = sys.stdin.read() if sys.stdin is not None else ""
    else:
        path = os.path.expanduser(args.key)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read(65536)
        except UnicodeDecodeError:
            raise Refused(f"{clean(args.key)} is not a text file; give the public key (the .pub file)") from None
        except OSError as exc:
            raise Refused(f"cannot read {clean(args.key)}: {exc.strerror or exc}") from None
    return text


def cmd_ssh_key_add(args) -> int:
    from crm_tui.services import ssh_keys

    who = _who(args)
    key = ssh_keys.add(_engine(args), who.member_id, _key_text(args))
    _say(f"Linked {key.fingerprint} ({key.algorithm}{' ' + key.comment if key.comment else ''}) to {who.email}.")
    return EXIT_OK


def cmd_ssh_key_list(args) -> int:
    from crm_tui.services import ssh_keys

    who = _who(args)
    keys = ssh_keys.list_for(_engine(args), who.member_id)
    if not keys:
        _say(f"{who.email} has no SSH keys.")
    for k in keys:
        _say(f"{k.fingerprint}  {k.algorithm:20} {k.created_at:%Y-%m-%d}  {k.comment}".rstrip())
    return EXIT_OK


def cmd_ssh_key_remove(args) -> int:
    from crm_tui.services import ssh_keys

    who = _who(args)
    ssh_keys.remove(_engine(args), who.member_id, args.fingerprint)
    _say(f"Removed {args.fingerprint.strip()} from {who.email}.")
    return EXIT_OK


def cmd_messages_show(args) -> int:
    from crm_tui.services import billing, messages

    st = messages.settings(_engine(args), _who(args))
    _say(
        f"status {st.status}  number {st.phone_number or '-'}  fee {billing.money(st.monthly_fee_cents)}/month  "
        f"sent {st.sent}  received {st.received}"
    )
    return EXIT_OK


def cmd_messages_cancel(args) -> int:
    from crm_tui.services import billing, messages

    result = messages.cancel(_engine(args), _who(args, destructive=True), _read_password(args))
    print(
        f"Messages cancelled: {plural(result.messages_deleted, 'text message')} deleted, "
        f"{billing.money(result.fee_removed_cents)}/month removed from billing."
    )
    print(result.twilio_note)
    return EXIT_OK


def cmd_billing_show(args) -> int:
    from crm_tui.services import billing

    b = billing.summary(_engine(args), _who(args))
    m = billing.money
    _say(f"{b.account_name}: {b.plan_name} plan {m(b.plan_price_cents)}/month")
    print(
        f"  seats: {b.seats} x {m(b.seat_price_cents)}   Messages: "
        f"{m(b.messages_fee_cents) if b.messages_active else 'not active'}"
    )
    _say(f"  monthly total {m(b.monthly_total_cents)}, next billing {b.next_billing:%d %b %Y}, card {b.card}")
    return EXIT_OK


def cmd_billing_plan(args) -> int:
    from crm_tui.services import billing

    name = billing.change_plan(_engine(args), _who(args), args.plan)
    print(f"The account is now on the {name} plan.")
    return EXIT_OK


def cmd_admin_closed(args) -> int:
    from crm_tui.services import closing

    rows = closing.list_closed(_engine(args))
    if args.json:
        _print_json([r.as_json() for r in rows])
        return EXIT_OK
    if not rows:
        print("No closed accounts.")
    for r in rows:
        total = sum(r.counts.values())
        print(
            f"account {r.account_id:>5}  closed {r.closed_at:%Y-%m-%d %H:%M} UTC  restore until "
            f"{r.restore_until:%Y-%m-%d} UTC  {r.state:9} {'restorable' if r.restorable else '-':10} "
            f"{plural(total, 'row')}"
        )
    return EXIT_OK


def cmd_admin_restore(args) -> int:
    from crm_tui.services import audit, closing

    result = closing.restore(_engine(args), args.email, actor=audit.operator())
    total = sum(result.counts.values())
    members = result.counts.get("team_members", 0)
    _say(
        f"Restored {result.account_name} (account {result.account_id}): {plural(total, 'row')}, "
        f"{plural(members, 'team member')}. {'They' if members != 1 else 'The owner'} can sign in again."
    )
    return EXIT_OK


def cmd_admin_purge(args) -> int:
    from crm_tui.services import audit, closing

    report = closing.purge(_engine(args), actor=audit.operator())
    destroyed = [plural(report.files_removed, "backup file")] if report.files_removed or not report.in_database else []
    if report.in_database:
        destroyed.append(f"{plural(report.in_database, 'backup')} kept in the database")
    print(
        f"Purged {plural(report.purged, 'closed account')} past their restore window; "
        f"{' and '.join(destroyed)} destroyed."
    )
    print(f"Database: {report.scrubbed}.")
    for warning in report.warnings:  # the purge stands (its keys are gone): exit 0
        print(f"crm-tui: warning: {warning}", file=sys.stderr)
    return EXIT_OK


def cmd_admin_resume(args) -> int:
    from crm_tui.services import closing

    done = closing.resume(_engine(args, resume=False))
    for line in done:
        print(line[0].upper() + line[1:] + ".")
    if not done:
        print("No interrupted close to resume.")
    return EXIT_OK


def cmd_admin_survey(args) -> int:
    from crm_tui.services import survey

    if args.comments:
        return _survey_comments(args)
    rows = survey.summary(_engine(args))
    if args.json:
        _print_json([r.__dict__ for r in rows])
        return EXIT_OK
    if not rows:
        print("No survey responses.")
    for r in rows:
        print(f"{r.responses:>6}  {r.reason}  ({r.with_comment} with a comment)")
    return EXIT_OK


def _survey_comments(args) -> int:
    """One line per comment, "reason: comment", made visible as the rest of the output is
    (newlines and tabs become spaces, control characters their stand-ins); nothing that links
    a comment to an account (see survey.comments)."""
    from crm_tui.services import survey

    rows = survey.comments(_engine(args))
    if args.json:
        _print_json([{"reason": r.reason, "comment": r.comment} for r in rows])
        return EXIT_OK
    if not rows:
        print("No survey comments.")
    for r in rows:
        _say(f"{r.reason}: {r.comment}")
    return EXIT_OK


def cmd_admin_audit(args) -> int:
    from crm_tui import db
    from crm_tui.services import audit

    with db.read_session(_engine(args)) as s:
        report = audit.verify(s)
    if not report.ok:
        raise Refused(f"the audit chain is broken at event {report.first_bad_id}")
    print(f"Audit chain verified: {plural(report.events, 'event')}.")
    return EXIT_OK


# --- parser -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="any SQLAlchemy URL (default: CRM_TUI_DATABASE_URL, else the embedded SQLite file)",
    )
    common.add_argument(
        "--create",
        action="store_true",
        default=argparse.SUPPRESS,
        help="make the SQLite database the URL names if it is not there (only the default "
        "one, and demo's, are made without it)",
    )

    p = _Parser(prog="crm-tui", description="A keyboard-first terminal CRM.", parents=[common])
    p.add_argument("--version", action="version", version=f"crm-tui {__version__}")
    p.set_defaults(func=cmd_app)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(parent, name: str, func: Callable, help: str):
        sp = parent.add_parser(name, help=help, description=help, parents=[common])
        sp.set_defaults(func=func)
        return sp

    def needs_email(sp, help="the acting user's email"):
        sp.add_argument("--email", required=True, metavar="E", help=help)
        sp.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from standard input (without it: a 'crm-tui login' session, "
            "else asked without echo at a terminal)",
        )

    def needs_password(sp):
        """A destructive step: the password is asked again whatever the session."""
        sp.set_defaults(destructive=True)
        for action in sp._actions:
            if action.dest == "password_stdin":
                action.help = (
                    "required: this step asks for the password whatever the session; read it from "
                    "standard input (else it is asked without echo at a terminal)"
                )

    add(sub, "paths", cmd_paths, "show where crm-tui keeps its files")
    sp = add(
        sub,
        "login",
        cmd_login,
        "check your password once and act as you without it for 12 hours (idle); destructive steps still ask for it",
    )
    needs_email(sp, "your email")
    sp = add(sub, "logout", cmd_logout, "end your command-line session(s) on this database")
    sp.add_argument("--email", metavar="E", help="end only this user's session (default: every one here)")
    sp = add(sub, "demo", cmd_demo, "create the demo accounts and print their users")
    sp.add_argument("--reset", action="store_true", help="delete existing demo accounts first")
    sp.add_argument("--contacts", type=int, default=250, metavar="N", help="contacts in Acme Realty (default 250)")
    sp.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default 1)")

    _add_serve(add(sub, "serve", cmd_serve, "serve the app over SSH, each member's exports by SFTP"))

    acc = sub.add_parser("account", help="the account of the user named by --email").add_subparsers(
        dest="account_command", metavar="ACTION", parser_class=_Parser, required=True
    )
    sp = add(acc, "impact", cmd_account_impact, "what closing the account would delete")
    needs_email(sp)
    sp.add_argument("--json", action="store_true")
    sp = add(acc, "close", cmd_account_close, "close the account and permanently delete its data")
    needs_email(sp, "the owner's email")
    sp.add_argument("--confirm", required=True, metavar="NAME", help="the account name, typed exactly")
    needs_password(sp)
    sp.add_argument("--reason", help="optional survey: why you are leaving")
    sp.add_argument("--comment", help="optional survey comment")
    sp = add(acc, "export", cmd_account_export, "download all the account's data as one archive")
    needs_email(sp)
    needs_password(sp)
    sp.add_argument("--out", metavar="DIR", help="folder to write to (default: your downloads folder)")
    sp = add(acc, "time-zone", cmd_account_time_zone, "show or set the time zone your times are shown in")
    needs_email(sp)
    sp.add_argument(
        "--set", metavar="ZONE", help='an IANA name such as America/New_York; "" for the zone of the machine'
    )

    sp = add(
        acc, "import", cmd_account_import, "make a new account, owned by you, of an archive that 'account export' wrote"
    )
    sp.add_argument("archive", metavar="ARCHIVE", help="the .zip file")
    needs_email(sp, "the new owner's email (yours; it must not belong to another account)")
    sp.add_argument("--name", required=True, metavar="NAME", help="the new account's name")
    needs_password(sp)

    ct = sub.add_parser("contacts", help="contacts").add_subparsers(
        dest="contacts_command", metavar="ACTION", parser_class=_Parser, required=True
    )
    sp = add(
        ct,
        "export",
        cmd_contacts_export,
        "export chosen contacts (or all) as CSV, vCard, Google Contacts CSV or Outlook CSV",
    )
    needs_email(sp)
    needs_password(sp)
    which = sp.add_mutually_exclusive_group(required=True)
    which.add_argument("--ids", metavar="1,2,3", help="the contacts' ids, separated by commas")
    which.add_argument("--all", action="store_true", help="every contact of the account")
    sp.add_argument(
        "--format",
        required=True,
        choices=["csv", "vcf", "google", "outlook"],
        help="csv: every field (crm-tui's own CSV); vcf: vCard 3.0; google: a Google Contacts "
        "CSV; outlook: an Outlook CSV",
    )
    sp.add_argument("--out", metavar="DIR", help="folder to write to (default: your downloads folder)")

    tm = sub.add_parser("team", help="team members").add_subparsers(
        dest="team_command", metavar="ACTION", parser_class=_Parser, required=True
    )
    sp = add(tm, "list", cmd_team_list, "list the team")
    needs_email(sp)
    sp = add(tm, "add", cmd_team_add, "add a team member")
    needs_email(sp)
    sp.add_argument("--member", required=True, metavar="EMAIL", help="the new member's email")
    sp.add_argument("--name", required=True)
    sp.add_argument("--role", required=True, choices=["administrator", "team-player"])
    sp = add(
        tm,
        "remove",
        cmd_team_remove,
        "remove a member: their contacts and to-dos move to the owner, their appointments are deleted",
    )
    needs_email(sp)
    sp.add_argument("--member", required=True, metavar="EMAIL")
    sp = add(tm, "transfer", cmd_team_transfer, "make another member the owner")
    needs_email(sp, "the owner's email")
    sp.add_argument("--to", required=True, metavar="EMAIL")
    needs_password(sp)
    sp = add(tm, "leave", cmd_team_leave, "end your own access to the account")
    needs_email(sp)
    needs_password(sp)

    sk = sub.add_parser("ssh-key", help="your SSH public keys, for signing in to 'crm-tui serve'").add_subparsers(
        dest="ssh_key_command", metavar="ACTION", parser_class=_Parser, required=True
    )
    sp = add(sk, "add", cmd_ssh_key_add, "link an SSH public key to you (signing in with it skips the password)")
    needs_email(sp, "your email")
    sp.add_argument(
        "--key",
        required=True,
        metavar="FILE|-",
        help="the public key file (such as ~/.ssh/id_ed25519.pub), or - to read it from standard input",
    )
    sp = add(sk, "list", cmd_ssh_key_list, "your SSH keys with their fingerprints")
    needs_email(sp, "your email")
    sp = add(sk, "remove", cmd_ssh_key_remove, "unlink one of your SSH keys")
    needs_email(sp, "your email")
    sp.add_argument("--fingerprint", required=True, metavar="FP", help="as 'ssh-key list' shows it (SHA256:...)")

    ms = sub.add_parser("messages", help="the Messages (SMS) add-on").add_subparsers(
        dest="messages_command", metavar="ACTION", parser_class=_Parser, required=True
    )
    sp = add(ms, "show", cmd_messages_show, "Messages settings")
    needs_email(sp)
    sp = add(ms, "cancel", cmd_messages_cancel, "permanently cancel Messages and delete the text history")
    needs_email(sp)
    needs_password(sp)

    bl = sub.add_parser("billing", help="Billing & Plan").add_subparsers(
        dest="billing_command", metavar="ACTION", parser_class=_Parser, required=True
    )
    sp = add(bl, "show", cmd_billing_show, "plan, seats, add-ons and the monthly total")
    needs_email(sp)
    sp = add(bl, "plan", cmd_billing_plan, "change the plan")
    needs_email(sp)
    sp.add_argument("--plan", required=True, metavar="CODE")

    ad = sub.add_parser("admin", help="support tasks").add_subparsers(
        dest="admin_command", metavar="ACTION", parser_class=_Parser, required=True
    )
    sp = add(ad, "closed", cmd_admin_closed, "list closed accounts and their restore windows")
    sp.add_argument("--json", action="store_true")
    sp = add(ad, "restore", cmd_admin_restore, "restore a closed account within its 3-month window")
    sp.add_argument("--email", required=True, metavar="E", help="the owner's email")
    add(ad, "purge", cmd_admin_purge, "destroy backups whose restore window has passed")
    add(ad, "resume", cmd_admin_resume, "undo or finish a close that was interrupted (a crash, a kill)")
    sp = add(ad, "survey", cmd_admin_survey, "leaving-survey answers by reason")
    sp.add_argument(
        "--comments", action="store_true", help="print every comment with its reason (never an account or a date)"
    )
    sp.add_argument("--json", action="store_true")
    add(ad, "audit", cmd_admin_audit, "verify the audit log's hash chain")
    return p


def _add_serve(sp) -> None:
    from crm_tui.serve.config import parse_duration

    def duration(text: str) -> float:
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    sp.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0: every one)")
    sp.add_argument("--port", type=int, default=2222, help="port (default 2222; 0: any free one, printed)")
    sp.add_argument("--demo", action="store_true", help="public demo: a private fresh demo per visitor")
    sp.add_argument("--host-key", metavar="FILE", help="host key (default: made in the data folder)")
    sp.add_argument("--exports-dir", metavar="DIR", help="members' exports (default: in the data folder)")
    sp.add_argument("--login-timeout", type=duration, default=60.0, metavar="T", help="to authenticate (default 60s)")
    sp.add_argument(
        "--idle-timeout", type=duration, default=1800.0, metavar="T", help="idle limit (default 30m; 0: none)"
    )
    sp.add_argument("--max-sessions", type=int, default=50, metavar="N", help="sessions at once, in all (default 50)")
    sp.add_argument(
        "--max-sessions-per-member", type=int, default=3, metavar="N", help="sessions at once per member (default 3)"
    )
    sp.add_argument(
        "--per-ip-limit", type=int, default=10, metavar="N", help="new connections per address per window (default 10)"
    )
    sp.add_argument("--per-ip-window", type=duration, default=60.0, metavar="T", help="that window (default 60s)")
    sp.add_argument("--demo-lifetime", type=duration, default=3600.0, metavar="T", help="a demo's life (default 1h)")
    sp.add_argument("--demo-contacts", type=int, default=250, metavar="N", help="contacts in the demo (default 250)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "database_url"):
        args.database_url = None
    if not hasattr(args, "create"):
        args.create = False
    bad = _not_text(args)
    if bad is not None:
        print(f"crm-tui: {bad} is not valid text (UTF-8); nothing was done", file=sys.stderr)
        return EXIT_USAGE
    try:
        with one_shot_command_tuning(args.func not in (cmd_app, cmd_serve)):
            code = args.func(args)
        if code == EXIT_OK:
            _record_session_use(args)
        return code
    except BaseException as exc:
        return outcome_of(exc)


ONE_SHOT_SWITCH_INTERVAL = 0.0005  # s (Python's default is 0.005)


@contextmanager
def one_shot_command_tuning(on: bool) -> Iterator[None]:
    """Process-wide tuning for a command of this one-shot process, never for the app: while
    the command runs, the cyclic garbage collector is paused (an export, a close's backup or a
    restore makes hundreds of thousands of short-lived tuples and no reference cycles, and
    each automatic collection walks every live object again) and threads may switch every
    half millisecond (restore's reader thread converts the next rows while the inserting one
    waits for SQLite without the GIL). Both are put back when the command ends. The library
    (services) never does this: there a worker thread of the app, or another session of the
    same process, would feel it."""
    if not on:
        yield
        return
    collecting, switch = gc.isenabled(), sys.getswitchinterval()
    gc.disable()
    sys.setswitchinterval(min(switch, ONE_SHOT_SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(switch)
        if collecting:
            gc.enable()


def _not_text(args) -> str | None:
    """The option whose value cannot be encoded as UTF-8: bytes that are no UTF-8 reach
    Python as lone surrogates (PEP 383), and would fail half-way through the command."""
    for dest, value in vars(args).items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "--" + dest.replace("_", "-")
    return None


def outcome_of(exc: BaseException) -> int:
    """The exit code for an exception a command let out: every refusal is one line on
    stderr, never a traceback. Anything else is a bug: one line on stderr too, naming the
    log file its traceback was written to (``CRM_TUI_DEBUG`` raises it instead)."""
    if isinstance(exc, KeyboardInterrupt):
        print("crm-tui: interrupted", file=sys.stderr)
        return 130
    message = _refusal(exc) if isinstance(exc, Exception) else None
    if os.environ.get("CRM_TUI_DEBUG") or not isinstance(exc, Exception):
        raise exc
    if message is None:
        message = _unexpected(exc)
    print(f"crm-tui: {message}", file=sys.stderr)
    return EXIT_REFUSED


def _refusal(exc: Exception) -> str | None:
    """The line for a refusal (cleaned: it may quote what was typed), or None for a bug."""
    from crm_tui.services.errors import message

    return message(exc, detail=True)


def _unexpected(exc: Exception) -> str:
    """The line for a bug; its traceback goes to the log file, which the line names."""
    from crm_tui.text import clean

    first = str(exc).splitlines()[0] if str(exc) else ""
    line = clean(f"unexpected error: {type(exc).__name__}: {first}")
    try:
        path = _log_traceback(exc)
    except OSError as log_exc:
        return f"{line} (the traceback could not be logged: {log_exc.strerror or log_exc})"
    return f"{line} (the traceback is in {clean(path)})"


def _log_traceback(exc: BaseException):
    """Append ``exc``'s traceback, dated, to the log file (0600, in a 0700 folder); its path."""
    import time
    import traceback

    from crm_tui import paths

    path = paths.log_file()
    paths.ensure_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S %z')} crm-tui {__version__}\n")
        log.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return path
