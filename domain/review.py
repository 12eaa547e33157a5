"""The secretariat's review of an answer: accept it (optionally with its own assessed status) or return it.

Pure rules on `StatusUpdate`: only a submitted answer can be reviewed; an assessed status that
differs from the agency's needs a rationale; a return needs a question. Each move goes through the
review lifecycle, so it is recorded in the append-only history with what was decided.
"""

from __future__ import annotations

from datetime import datetime

from domain.errors import ValidationError
from domain.lifecycle import ReviewState
from domain.model import ReportedStatus, StatusUpdate

QUESTION_MAX = 2000
RATIONALE_MAX = 2000

_WHY_NOT = {
    ReviewState.DRAFT: "it is still a draft the agency has not submitted",
    ReviewState.RETURNED: "it was returned to the agency and awaits its new answer",
    ReviewState.ACCEPTED: "it is already accepted (reviewed answers are locked)",
}


def check_reviewable(update: StatusUpdate, label: str, action: str) -> None:
    """Raise a ValidationError naming the item unless its answer is submitted (waiting for review)."""
    state = ReviewState(update.state)
    if state != ReviewState.SUBMITTED:
        raise ValidationError("state", f"{label} cannot be {action}: {_WHY_NOT[state]}")


def accept(
    update: StatusUpdate,
    *,
    label: str,
    at: datetime,
    by: str,
    assess: ReportedStatus | None = None,
    why: str = "",
    publish_evidence: bool = False,
) -> None:
    """Accept a submitted answer, recording the secretariat's assessed status and rationale if given.

    `publish_evidence`: the answer's evidence files become public (the published record lists them);
    they are private otherwise.
    """
    check_reviewable(update, label, "accepted")
    why = why.strip()
    if len(why) > RATIONALE_MAX:
        raise ValidationError("why", f"at most {RATIONALE_MAX:,} characters (this one has {len(why):,})")
    if assess is not None and assess.value != update.reported_status and not why:
        reported = ReportedStatus(update.reported_status).label if update.reported_status else "nothing"
        raise ValidationError(
            "why",
            f"{label}: the agency reported {reported}; say why the secretariat assesses it as {assess.label}",
        )
    update.assessed_status = assess.value if assess is not None else None
    update.assessment_rationale = why
    update.evidence_public = publish_evidence
    update.reviewer_question = ""  # answered: the question stays in the history, not on the page
    update.reviewed_by, update.reviewed_at = by, at
    update.transition(
        ReviewState.ACCEPTED,
        at=at,
        by=by,
        why=why or "answer accepted",
        answer_version=update.version,
        reported_status=update.reported_status,
        assessed_status=update.assessed_status,
        evidence_public=publish_evidence,
    )


def send_back(update: StatusUpdate, *, label: str, at: datetime, by: str, question: str) -> None:
    """Return a submitted answer to the agency with the secretariat's question."""
    check_reviewable(update, label, "returned")
    question = question.strip()
    if not question:
        raise ValidationError("question", f"{label}: say what the agency should clarify")
    if len(question) > QUESTION_MAX:
        raise ValidationError(
            "question", f"at most {QUESTION_MAX:,} characters (this one has {len(question):,})"
        )
    update.reviewer_question = question
    update.reviewed_by, update.reviewed_at = by, at
    update.transition(
        ReviewState.RETURNED, at=at, by=by, why=question, answer_version=update.version, question=question
    )
