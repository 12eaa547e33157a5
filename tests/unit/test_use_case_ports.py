"""Use cases reach storage through the unit-of-work port only: no SQL, no session, no SQL unit of work.

Bulk SQL lives in the repositories (`db/`) behind the Protocols of `domain/ports.py`, so every use case
in `workflows/services/` runs as well on `tests.fakes.FakeUnitOfWork` as on the database.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "workflows" / "services"
# Storage is reached through the port: these packages are the adapter's business.
FORBIDDEN_IMPORTS = ("sqlalchemy", "db")
# Services not moved onto the port yet (this set only shrinks).
PENDING = {
    "review.py",
}


def _modules() -> list[Path]:
    return sorted(p for p in SERVICES.glob("*.py") if p.name not in PENDING)


def _imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_a_use_case_imports_neither_sqlalchemy_nor_the_database_package(path: Path) -> None:
    imported = _imported(ast.parse(path.read_text(encoding="utf-8")))
    assert [n for n in imported if n.split(".")[0] in FORBIDDEN_IMPORTS] == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_a_use_case_never_reaches_into_a_session(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = [
        node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "session"
    ]
    assert lines == [], f"{path.name} uses `.session` on lines {lines}: add a repository method instead"
