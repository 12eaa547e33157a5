"""The one guarded entry for every file Follow-up takes in: reports, YAML files, reply spreadsheets.

A file is checked for what it is (a regular file), its size and its structure before a parser sees
it; every failure is a `FileRejected` (a ValidationError) naming the file and, when there is one, the
line. Office files (.xlsx, .docx) are zips of XML: `office_package` refuses one that would inflate
far beyond its size (a zip bomb) or whose XML declares a DTD (an entity bomb or an XXE probe). YAML
is composed only after a pass over its events refuses aliases (a 382-byte alias bomb
expands to gigabytes once code walks it) and nesting deeper than any registry or owners file needs.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from domain.errors import ValidationError
from domain.importer import decode_report

# Reports (text, Word or PDF): a report of several thousand recommendations is about 2 MB as text.
MAX_TEXT_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_ZIP_MEMBERS = 500
MAX_YAML_CHARS = 10 * 1024 * 1024  # an owners file of 20,000 recommendations is about 3 MB
MAX_YAML_DEPTH = 20  # registry and owners files nest four deep
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tabs and line ends are text


class FileRejected(ValidationError):
    """A file that cannot be taken in; `field` names the file (and the line when there is one)."""


def file_bytes(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`, else FileRejected saying why not."""
    try:
        if not path.is_file():
            if not path.exists():
                raise FileRejected(path.name, "no such file")
            raise FileRejected(path.name, "is a folder" if path.is_dir() else "not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            raise FileRejected(path.name, f"the file is too large ({size:,} bytes; at most {max_bytes:,})")
        data = path.read_bytes()
    except OSError as exc:
        raise FileRejected(path.name, f"cannot read the file: {exc.strerror}") from None
    if len(data) > max_bytes:  # it grew while being read
        raise FileRejected(path.name, f"the file is too large (at most {max_bytes:,} bytes)")
    return data


@dataclass(frozen=True)
class OfficeFormat:
    """A zip of XML parts: what it is called, what a file that is not one is refused as, its main part."""

    label: str
    refusal: str
    required: str


XLSX = OfficeFormat("an .xlsx workbook", "not a spreadsheet", "xl/workbook.xml")
DOCX = OfficeFormat("a .docx document", "not a Word document", "word/document.xml")


def office_package(data: bytes, name: str, kind: OfficeFormat) -> None:
    """Refuse `data` unless it is a zip of `kind` that inflates within the limits and declares no DTD."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise FileRejected(name, f"{kind.refusal}: the file is not {kind.label}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise FileRejected(name, f"the file has too many parts ({len(members)})")
            total = sum(m.file_size for m in members)
            packed = max(sum(m.compress_size for m in members), 1)
            if total > MAX_UNCOMPRESSED_BYTES or total / packed > MAX_COMPRESSION_RATIO:
                refusal = f"the file would inflate to {total:,} bytes: refused as a possible zip bomb"
                raise FileRejected(name, refusal)
            if kind.required not in {m.filename for m in members}:
                raise FileRejected(name, f"{kind.refusal}: the zip file holds no {kind.required}")
            for member in members:
                _refuse_dtd(archive, member, name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as exc:
        raise FileRejected(name, f"{kind.refusal}: the file is damaged ({type(exc).__name__})") from None


def _refuse_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> None:
    """Office writes its XML in UTF-8 without a DTD; a DOCTYPE or ENTITY is an XML bomb or an XXE probe."""
    if not member.filename.endswith((".xml", ".rels", ".vml")):
        return
    # zipfile stops at the declared size (checked against the limits) and checks the CRC.
    data = archive.read(member)
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected(name, f"the part {member.filename[:80]} declares a DTD or is not UTF-8: refused")


def text_file(path: Path, *, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """A UTF-8 text file's text (a report, a YAML file); binary, UTF-16 or oversized files are refused."""
    data = file_bytes(path, max_bytes=max_bytes)
    try:
        return decode_report(data, name=path.name)
    except FileRejected:
        raise
    except ValidationError as exc:
        raise FileRejected(exc.field, exc.message) from None


def yaml_nodes(text: str, *, source: str) -> list[yaml.Node]:
    """The YAML documents of `text` as nodes, after refusing aliases, deep nesting and oversized text."""
    if len(text) > MAX_YAML_CHARS:
        raise FileRejected(source, f"too large for a YAML file (at most {MAX_YAML_CHARS:,} characters)")
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                raise _at(source, event, f"uses the alias '*{event.anchor}': write each value out in full")
            if isinstance(event, yaml.ScalarEvent) and _CONTROL.search(event.value):
                # "\u0000" in quotes is a NUL: PostgreSQL refuses it, SQLite cut the text there.
                raise _at(source, event, "holds a control character (such as \\u0000): write plain text")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise _at(source, event, f"nested more than {MAX_YAML_DEPTH} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        nodes = [node for node in yaml.compose_all(text, Loader=_Loader) if node is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise FileRejected(f"{source}{where}", f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    for node in nodes:
        _refuse_repeated_keys(node, source)
    return nodes


def _refuse_repeated_keys(document: yaml.Node, source: str) -> None:
    """A key given twice in one mapping: YAML keeps the last silently, and the first was meant as much."""
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    line = key.start_mark.line + 1
                    if key.value in lines:
                        raise FileRejected(
                            f"{source} line {line}",
                            f"'{key.value}' appears twice (also line {lines[key.value]})",
                        )
                    lines[key.value] = line
                pending.append(value)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)


def yaml_data(text: str, *, source: str) -> list[Any]:
    """The YAML documents of `text` as plain values (safe types only), after the checks of `yaml_nodes`."""
    documents = []
    for node in yaml_nodes(text, source=source):
        try:
            documents.append(SafeConstructor().construct_document(node))
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            # e.g. an integer of thousands of digits, or a date such as 2026-02-30
            where = f"{source} line {node.start_mark.line + 1}"
            raise FileRejected(where, f"unreadable value: {exc}") from None
    return documents


def _at(source: str, event: yaml.Event, message: str) -> FileRejected:
    mark = event.start_mark
    return FileRejected(f"{source} line {mark.line + 1}" if mark is not None else source, message)
