"""Errors carry codes, and one function words them (for the app and the command line)."""

from __future__ import annotations

import errno

import pytest
from conftest import OWNER, PASSWORDS

from crm_tui.services import errors
from crm_tui.services.errors import (
    AccountClosed,
    ArchiveError,
    AuthenticationFailed,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RestoreRefused,
    Throttled,
)


def test_every_class_has_its_own_code_and_every_code_a_meaning():
    classes = [
        DomainError,
        NotFound,
        PermissionDenied,
        AuthenticationFailed,
        Throttled,
        AccountClosed,
        InvalidInput,
        RestoreRefused,
        ArchiveError,
    ]
    codes = [cls.code for cls in classes]
    assert len(set(codes)) == len(codes)
    assert all(code in errors.CODES and errors.CODES[code] for code in codes)


def test_a_code_given_where_an_error_is_raised_must_be_known():
    exc = InvalidInput(
        "the name differs; nothing was deleted", code=errors.NAME_MISMATCH, field="name", undone="deleted"
    )
    assert (exc.code, exc.field, exc.undone) == ("close.name_mismatch", "name", "deleted")
    assert InvalidInput("x").code == "input.invalid" and InvalidInput("x").field is None
    with pytest.raises(ValueError):
        InvalidInput("x", code="no.such_code")


def test_throttled_keeps_when_to_try_again():
    exc = Throttled("too many wrong passwords; try again in 3 s", 2.5)
    assert (exc.code, exc.retry_after, exc.field) == ("auth.throttled", 2.5, "password")
    assert isinstance(exc, AuthenticationFailed)


def test_one_function_words_domain_and_database_errors():
    from crm_tui.db import DatabaseError

    assert (
        errors.message(NotFound("no contact with id 7\x1b[2J in this account"))
        == "no contact with id 7␛[2J in this account"
    )
    assert errors.sentence(AuthenticationFailed("wrong password")) == "Wrong password."
    assert (
        errors.sentence(DatabaseError("not a usable database: file is not a database"))
        == "Not a usable database: file is not a database."
    )
    assert errors.code_of(DatabaseError("x")) == "database.unusable"
    assert DatabaseError("x; nothing was deleted", undone="deleted").undone == "deleted"


def test_a_sentence_gets_one_final_period():
    assert errors.as_sentence("done.") == "Done."
    assert errors.as_sentence("wrong password") == "Wrong password."
    assert errors.capitalised("über") == "Über"


def test_os_errors_name_their_file_on_the_command_line_only():
    exc = FileNotFoundError(errno.ENOENT, "No such file or directory", "/nowhere/x")
    assert errors.message(exc) == "No such file or directory"
    assert errors.message(exc, detail=True) == "No such file or directory (/nowhere/x)"
    assert errors.code_of(exc) == "os.error"


def test_database_driver_errors():
    from sqlalchemy.exc import IntegrityError, OperationalError

    busy = OperationalError("SELECT 1", {}, Exception("database is locked\nmore"))
    assert errors.message(busy) == "the database is busy or unavailable; please try again"
    assert errors.message(busy, detail=True) == "database error: database is locked"
    assert errors.code_of(busy) == "database.busy"
    clash = IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))
    assert errors.message(clash) is None  # a bug in the app
    assert errors.message(clash, detail=True) == "database error: UNIQUE constraint failed"


def test_a_bug_has_no_wording():
    assert errors.message(RuntimeError("boom")) is None
    assert errors.sentence(KeyError("x")) is None
    assert errors.code_of(ValueError("x")) is None


def test_the_app_gets_the_wording_with_the_code_and_fields():
    from crm_tui.tui.base import error_text

    text = error_text(
        InvalidInput("the name differs; nothing was deleted", code=errors.NAME_MISMATCH, field="name", undone="deleted")
    )
    assert text == "the name differs; nothing was deleted"
    assert (text.code, text.field, text.undone) == ("close.name_mismatch", "name", "deleted")
    assert text.sentence == "The name differs; nothing was deleted."
    assert error_text(RuntimeError("boom")) is None


def test_services_raise_the_precise_codes(fresh_demo):
    from crm_tui.services import auth, closing, survey, zones

    with pytest.raises(AuthenticationFailed) as caught:
        auth.sign_in(fresh_demo, "nobody@nowhere.example", "whatever1")
    assert caught.value.code == errors.WRONG_CREDENTIALS
    with pytest.raises(InvalidInput) as caught:
        zones.checked("Mars/Olympus_Mons")
    assert (caught.value.code, caught.value.field) == (errors.ZONE_UNKNOWN, "time_zone")
    with pytest.raises(InvalidInput) as caught:
        survey.checked("no such reason")
    assert (caught.value.code, caught.value.field) == (errors.SURVEY_ANSWER, "reason")
    owner = auth.sign_in(fresh_demo, OWNER, PASSWORDS[OWNER])
    with pytest.raises(InvalidInput) as caught:
        closing.close_account(fresh_demo, owner, owner.account_name + " ", PASSWORDS[OWNER])
    assert (caught.value.code, caught.value.field, caught.value.undone) == (errors.NAME_MISMATCH, "name", "deleted")
    with pytest.raises(AuthenticationFailed) as caught:
        closing.close_account(fresh_demo, owner, owner.account_name, "not the password")
    assert (caught.value.code, caught.value.field, caught.value.undone) == (errors.WRONG_PASSWORD, "password", None)
