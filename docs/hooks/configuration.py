"""MkDocs hook: writes configuration.md from the `Settings` fields, so the page cannot drift from the code."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PAGE = "configuration.md"

INTRODUCTION = """# Configuration

Every setting is an environment variable (or a line in `.env` in the working directory); the
defaults need nothing installed: SQLite and a folder outbox in `FOLLOWUP_HOME`.

This page is generated from the field descriptions of `workflows/settings.py` when the site is
built: change a setting there and this table follows.

Prefect's own settings (`PREFECT_API_URL`, `PREFECT_HOME`, ...) apply as usual; the defaults
Follow-up sets for them are in the [operator guide](operator.md#prefect-defaults).

| variable | type | default | meaning |
| --- | --- | --- | --- |
"""

TYPE_NAMES = {
    "Path": "path",
    "str": "text",
    "str | None": "text",
    "int": "integer",
    "float": "number",
    "tuple[int, ...]": "JSON list of integers",
    "Language": "en, fr or es",
}


def _settings_class() -> Any:
    # `mkdocs` runs from its own script directory: make this checkout's packages win over any install.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from workflows.settings import Settings

    return Settings


def _type_name(annotation: Any) -> str:
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    return TYPE_NAMES.get(text, text)


def _default(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, tuple):
        return f"`{json.dumps(list(value), separators=(',', ':'))}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def configuration_page() -> str:
    """The configuration page in Markdown: one table row per `Settings` field."""
    settings = _settings_class()
    prefix = settings.model_config.get("env_prefix", "")
    rows = []
    for name, field in settings.model_fields.items():
        default = field.get_default()  # a computed default (a factory) shows as unset: its description says
        rows.append(
            f"| `{prefix}{name.upper()}` | {_type_name(field.annotation)} | {_cell(_default(default))} "
            f"| {_cell(field.description or '')} |"
        )
    return INTRODUCTION + "\n".join(rows) + "\n"


def on_files(files: Any, config: Any) -> Any:
    """Add the generated configuration page to the site's files."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=configuration_page()))
    return files
