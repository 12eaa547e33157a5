"""The domain layer stays pure: it imports nothing of the database, templates, workflows or mail."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = {
    "sqlalchemy",
    "prefect",
    "jinja2",
    "smtplib",
    "fastapi",
    "starlette",
    "alembic",
    "docx",
    "openpyxl",
    "db",
    "notifications",
    "workflows",
    "portal",
    "reporting",
    "httpx",
    "email",
}
DOMAIN = Path(__file__).resolve().parents[2] / "domain"


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_modules_import_no_framework_or_io_library() -> None:
    offenders = {
        path.name: sorted(_imported_roots(path) & FORBIDDEN) for path in sorted(DOMAIN.glob("**/*.py"))
    }
    assert {name: bad for name, bad in offenders.items() if bad} == {}
    assert offenders, "no domain module was checked"
