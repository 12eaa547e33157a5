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


# What PostgreSQL refused with a raw driver error (SQLite stored it silently, a NUL cutting the text),
# or what was taken without a word, each now refused naming the file and the line or entry.
REFUSED = {
    "nul.yaml": (
        'agencies:\n  - {code: ZZA, name: "A\\u0000B"}\n',
        "nul.yaml line 2: holds a control character",
    ),
    "twice.yaml": (
        "agencies:\n  - code: ZZA\n    name: First\n    name: Second\n",
        "twice.yaml line 4: 'name' appears twice (also line 3)",
    ),
    "long-name.yaml": (
        f"agencies:\n  - {{code: ZZA, name: {'N' * 301}}}\n",
        "agencies[1].name: at most 300 characters (this one has 301)",
    ),
    "long-short-name.yaml": (
        f"agencies:\n  - {{code: ZZA, name: Z, short_name: {'S' * 201}}}\n",
        "agencies[1].short_name: at most 200 characters (this one has 201)",
    ),
    "long-contact.yaml": (
        f"agencies:\n  - {{code: ZZA, name: Z, contacts: [{{name: {'C' * 201}, email: c@un.org}}]}}\n",
        "agencies[1].contacts[1].name: at most 200 characters (this one has 201)",
    ),
    "contact-twice.yaml": (
        "agencies:\n  - code: ZZA\n    name: Z\n    contacts:\n"
        "      - {name: a, email: a@un.org}\n      - {name: a, email: a@un.org}\n",
        "agencies[1].contacts[2].email: a@un.org is listed twice as focal_point",
    ),
    "through-secretariat.yaml": (
        "agencies:\n  - {code: ZZA, name: Z, answers: {through: HLCP}}\n",
        "ZZA.answers: through 'HLCP', which does not answer for itself",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_registry_the_database_could_not_hold_as_meant_is_refused_naming_its_place_and_nothing_is_loaded(
    followup: CliRun, tmp_path: Path, name: str
) -> None:
    text, expected = REFUSED[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = followup("agencies", "load", str(path))
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and expected in said and "Traceback" not in said, said
    assert "ZZA" not in followup("agencies", "list").output
