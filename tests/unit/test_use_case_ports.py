"""Use cases reach storage through the unit-of-work port only: no SQL and no session of their own.

Bulk SQL lives in the repositories (`db/`) behind the Protocols of `domain/ports.py`, so every use case
in `workflows/services/` runs as well on `tests.fakes.FakeUnitOfWork` as on the database. Imports
(no sqlalchemy, no `db`) are checked by an import-linter contract in `make lint`; this checks the rest.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = sorted((Path(__file__).resolve().parents[2] / "workflows" / "services").glob("*.py"))


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_a_use_case_never_reaches_into_a_session(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = [
        node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "session"
    ]
    assert lines == [], f"{path.name} uses `.session` on lines {lines}: add a repository method instead"
