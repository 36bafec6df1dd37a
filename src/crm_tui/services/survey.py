"""The optional leaving survey: stored without any account id or personal data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from crm_tui import db
from crm_tui.models import SurveyResponse
from crm_tui.services import clock
from crm_tui.services.errors import SURVEY_ANSWER, InvalidInput
from crm_tui.services.inputs import refuse_nul

REASONS = (
    "Too expensive",
    "Missing features I need",
    "Switching to another CRM",
    "Too hard to use",
    "Closing my business",
    "Only needed it for a while",
    "Other",
)
MAX_COMMENT = 2000


def checked(reason: str, comment: str = "") -> str:
    """The comment as it would be stored; refuses an unknown reason or a too-long comment.
    Callers that close an account first check the answer with this, before closing."""
    if reason not in REASONS:
        raise InvalidInput(f"reason must be one of: {'; '.join(REASONS)}", code=SURVEY_ANSWER, field="reason")
    comment = comment.strip()
    try:
        comment.encode("utf-8")
    except UnicodeEncodeError:  # a byte that is not UTF-8, as Python hands it over (PEP 383)
        raise InvalidInput("the comment is not valid text (UTF-8)", code=SURVEY_ANSWER, field="comment") from None
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"the comment is longer than {MAX_COMMENT} characters", code=SURVEY_ANSWER, field="comment")
    return comment


def submit(
    engine: Engine, reason: str, comment: str = "", *, plan_code: str = "", tenure_months: int = 0, team_size: int = 0
) -> None:
    refuse_nul(reason, "a reason", field="reason")
    refuse_nul(comment, "a comment", field="comment")
    comment = checked(reason, comment)
    with db.write_session(engine) as s:
        s.add(
            SurveyResponse(
                submitted_on=clock.now().date().replace(day=1),
                reason=reason,
                comment=comment,
                plan_code=plan_code,
                tenure_months=tenure_months,
                team_size=team_size,
            )
        )


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    responses: int
    with_comment: int


def summary(engine: Engine) -> list[ReasonCount]:
    with db.read_session(engine) as s:
        rows = s.execute(
            select(
                col(SurveyResponse.reason),
                func.count(),
                func.sum(case((func.length(SurveyResponse.comment) > 0, 1), else_=0)),
            )
            .group_by(col(SurveyResponse.reason))
            .order_by(func.count().desc(), col(SurveyResponse.reason))
        ).all()
        return [ReasonCount(r, n, int(c or 0)) for r, n, c in rows]


@dataclass(frozen=True)
class Comment:
    reason: str
    comment: str


def comments(engine: Engine) -> list[Comment]:
    """Every non-empty comment with its reason, for support to read, and nothing else: no
    month, plan, tenure, team size or row id, and ordered by reason and then by the comment's
    text, not by when it was written, so that nothing lines a comment up with a closed account."""
    with db.read_session(engine) as s:
        rows = s.execute(
            select(col(SurveyResponse.reason), col(SurveyResponse.comment)).where(
                func.length(SurveyResponse.comment) > 0
            )
        ).all()
    # sorted here, by code point: the same order on every database, whatever its collation
    return [Comment(r, c) for r, c in sorted(rows)]
