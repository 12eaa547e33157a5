"""`agencies load` and `owners apply` take hostile YAML the same way: a clear error, fast, nothing written."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import CliRun, followup_in_process

# 382 bytes that expand to 9^9 list items once code walks them (the hostile review's bomb).
ALIAS_BOMB = "\n".join(
    [
        "a: &a [x, x, x, x, x, x, x, x, x]",
        *(
            f"{chr(ord('b') + n)}: &{chr(ord('b') + n)} [{', '.join(['*' + chr(ord('a') + n)] * 9)}]"
            for n in range(8)
        ),
        "agencies:",
        "  - {code: BOMB, name: *i}",
        "recommendations: {A1: {owners: *i}}",
    ]
)
HOSTILE = {
    "bomb.yaml": ALIAS_BOMB.encode(),
    "binary.yaml": bytes(range(256)),
    "utf16.yaml": "agencies:\n  - {code: ILO, name: ILO}\n".encode("utf-16"),
    "deep.yaml": b"agencies: " + b"[" * 5000 + b"]" * 5000,
    "mistyped.yaml": b"agencies:\n  - code: ILO\n    name: [not, a, name]\n    contacts: 5\n",
    "contacts.yaml": b"agencies:\n  - {code: ILO, name: ILO, contacts: 5}\n",
    "huge-number.yaml": b"agencies:\n  - {code: ILO, name: " + b"9" * 5000 + b"}\n",
    "mapping.yaml": b"agencies: {ILO: International Labour Organization}\n",
    "folder.yaml": b"",
}


@pytest.fixture
def followup(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRun]:
    """`followup` run in-process against this test's own, initialised database."""
    yield from followup_in_process(database_url, tmp_path / "home", monkeypatch)


def test_hostile_yaml_files_give_a_clear_error_naming_the_file_for_agencies_load_and_owners_apply(
    followup: CliRun, tmp_path: Path
) -> None:
    folder = tmp_path / "hostile"
    folder.mkdir()
    for name, data in HOSTILE.items():
        if name == "folder.yaml":
            (folder / name).mkdir()
        else:
            (folder / name).write_bytes(data)
    for name in HOSTILE:
        for command in (["agencies", "load"], ["owners", "apply"]):
            started = time.monotonic()
            result = followup(*command, str(folder / name))
            said = " ".join(result.output.split())
            assert result.exit_code in (1, 2) and isinstance(result.exception, SystemExit), (name, said)
            assert name in said and ("error" in said.lower()), (command, name, said)
            assert time.monotonic() - started < 5, (command, name)
    listed = followup("agencies", "list")
    assert "BOMB" not in listed.output
