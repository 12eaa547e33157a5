"""Example contexts for every message kind, as the workflows build them (shared by e-mail tests)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

IOM = {"code": "IOM", "name": "Organisation internationale pour les migrations — Genève"}
CYCLE = {"name": "2026-spring", "hlcp_session": "HLCP 51st session", "deadline": date(2026, 4, 3)}
SECRETARIAT = "hlcp.secretariat@un.example.org"
REPLY_URL = "http://127.0.0.1:8000/r/tok3n-IOM"


def context(kind: str, **overrides: Any) -> dict[str, Any]:
    """A complete context for `kind`, with `overrides` replacing top-level values."""
    common: dict[str, Any] = {"cycle": CYCLE, "secretariat_email": SECRETARIAT}
    by_kind: dict[str, dict[str, Any]] = {
        "status-request": {
            "agency": IOM,
            "reply_url": REPLY_URL,
            "item_count": 3,
            "in_parts": False,
            "items_by_point": [
                {
                    "agenda_point": 1,
                    "agenda_title": "Migration and development",
                    "items": [
                        {
                            "code": "A1.1",
                            "text": "Establish an inter-agency working group on migration data.",
                            "role": "lead",
                            "last_status": "in_progress",
                            "last_narrative": "Terms of reference agreed; first meeting held in Genève.",
                        },
                        {
                            "code": "A1.2",
                            "text": "Publish a joint statistical report.",
                            "role": "contributor",
                            "last_status": None,
                            "last_narrative": "",
                        },
                    ],
                },
                {
                    "agenda_point": None,
                    "agenda_title": "",
                    "items": [
                        {
                            "code": "SR1.ii.a",
                            "text": "Report progress to the CEB every year.",
                            "role": "lead",
                            "last_status": "completed",
                            "last_narrative": "Reported in 2025.",
                        }
                    ],
                },
            ],
        },
        "reminder": {
            "agency": IOM,
            "reply_url": REPLY_URL,
            "days_left": 7,
            "unanswered_count": 2,
            "item_count": 3,
        },
        "escalation": {
            "agency": IOM,
            "reply_url": REPLY_URL,
            "days_overdue": 3,
            "unanswered_count": 2,
            "focal_points": ["focal.point@iom.example.org", "deputy@iom.example.org"],
        },
        "receipt": {
            "agency": IOM,
            "reply_url": REPLY_URL,
            "submitted_at": datetime(2026, 3, 20, 14, 5, tzinfo=UTC),
            "recorded": [
                {"code": "A1.1", "status": "completed", "narrative": "Working group met twice; report out."},
                {"code": "A1.2", "status": "blocked", "narrative": ""},
            ],
        },
        "returned": {
            "agency": IOM,
            "reply_url": REPLY_URL,
            "returned": [
                {
                    "code": "A1.1",
                    "status": "completed",
                    "narrative": "Barometer published.",
                    "question": "Is the survey programme itself complete, or only its first edition?",
                }
            ],
        },
        "cycle-summary": {
            "requested": 25,
            "answered": 21,
            "response_rate": 0.84,
            "overdue_agencies": [IOM, {"code": "UNDP", "name": "United Nations Development Programme"}],
            "overdue_items": 7,
            "report_paths": ["var/reports/2026-spring/stock-take.docx"],
            "report_url": None,
        },
    }
    return {**common, **by_kind[kind], **overrides}
