"""Evidence files on an answer: the kinds accepted, how a file is recognised by its content, the limits.

Pure: the service streams each upload through a `Sniffer` (chunks in, facts out), lists the parts
of a zip for `ooxml_kind`, and asks `judge_file` and `judge_count` whether a save may attach the
files. A file is accepted only when its name's extension and its content say the same kind: a
`.pdf` that is a PNG, an `.xlsx` that is a macro workbook or a `.txt` that is not UTF-8 are refused.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from domain.language import N_, Message

# Bytes of the head kept for recognising the kind.
HEAD_BYTES = 64
SHORT_HASH = 12
NAME_MAX = 150
FIELD = "evidence_files"  # the form's (and the problem list's) name for an item's files


@dataclass(frozen=True)
class FileKind:
    """A kind of evidence file: how it is named, what its content starts with, how it is served."""

    key: str
    label: str
    extensions: tuple[str, ...]
    content_type: str


KINDS = (
    FileKind("pdf", N_("a PDF document"), (".pdf",), "application/pdf"),
    FileKind(
        "docx",
        N_("a Word document"),
        (".docx",),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    FileKind("doc", N_("a Word 97-2003 document"), (".doc",), "application/msword"),
    FileKind(
        "xlsx",
        N_("an Excel workbook"),
        (".xlsx",),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    FileKind("xls", N_("an Excel 97-2003 workbook"), (".xls",), "application/vnd.ms-excel"),
    FileKind(
        "pptx",
        N_("a PowerPoint presentation"),
        (".pptx",),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    FileKind("ppt", N_("a PowerPoint 97-2003 presentation"), (".ppt",), "application/vnd.ms-powerpoint"),
    FileKind("png", N_("a PNG image"), (".png",), "image/png"),
    FileKind("jpeg", N_("a JPEG image"), (".jpg", ".jpeg"), "image/jpeg"),
    FileKind("gif", N_("a GIF image"), (".gif",), "image/gif"),
    FileKind("webp", N_("a WebP image"), (".webp",), "image/webp"),
    FileKind("text", N_("plain text"), (".txt", ".csv", ".md"), "text/plain; charset=utf-8"),
)
KIND_OF_KEY = {kind.key: kind for kind in KINDS}
KIND_OF_EXTENSION = {extension: kind for kind in KINDS for extension in kind.extensions}
ACCEPTED = N_("PDF, Word, Excel, PowerPoint, images (PNG, JPEG, GIF, WebP) or plain text (.txt, .csv, .md)")

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a Compound File: Office 97-2003
ZIP_MAGIC = b"PK\x03\x04"
# The stream that makes a Compound File a Word, Excel or PowerPoint file, as its directory names it.
OLE_STREAMS = {"doc": "WordDocument", "xls": "Workbook", "ppt": "PowerPoint Document"}
_OLE_NAMES = {key: name.encode("utf-16-le") + b"\0\0" for key, name in OLE_STREAMS.items()}
_OLE_TAIL = max(len(pattern) for pattern in _OLE_NAMES.values()) - 1
_OPEN_XML = "application/vnd.openxmlformats-officedocument"
# The main part of an Office Open XML package (in [Content_Types].xml, with this content type).
OOXML_MAIN = {
    "docx": ("word/document.xml", f"{_OPEN_XML}.wordprocessingml.document.main+xml"),
    "xlsx": ("xl/workbook.xml", f"{_OPEN_XML}.spreadsheetml.sheet.main+xml"),
    "pptx": ("ppt/presentation.xml", f"{_OPEN_XML}.presentationml.presentation.main+xml"),
}
CONTENT_TYPES_PART = "[Content_Types].xml"
NONE_ACCEPTED = N_("none of the kinds accepted")


@dataclass(frozen=True)
class EvidenceLimits:
    """How large one file may be and how many an answer may have (settings: evidence_max_mb, _files)."""

    max_bytes: int
    max_files: int


@dataclass(frozen=True)
class FileFacts:
    """What streaming a file found: size, SHA-256, the kinds its content can be (none: no kind accepted)."""

    size: int
    sha256: str
    content_kinds: tuple[str, ...]
    complete: bool = True  # False: reading stopped past the size limit (size and hash are partial)


@dataclass(frozen=True)
class StoredFile:
    """An evidence file as it is listed: on the reply page, the receipt, the secretariat page, reports."""

    id: int
    recommendation_id: int
    agency_code: str
    name: str
    kind: str
    size: int
    sha256: str

    @property
    def short_hash(self) -> str:
        """The first hex digits of its SHA-256: enough to tell files apart in a list."""
        return self.sha256[:SHORT_HASH]

    @property
    def size_text(self) -> str:
        """Its size for people ("1.2 MB")."""
        return human_size(self.size)

    @property
    def said(self) -> Message:
        """How a list names it, to translate: "report.pdf (1.2 MB, SHA-256 3f2a9c1e0b7d)"."""
        wording = N_("%(name)s (%(size)s, SHA-256 %(hash)s)")
        return Message(wording, {"name": self.name, "size": size_said(self.size), "hash": self.short_hash})

    @property
    def line(self) -> str:
        """How a report lists it, in English: "report.pdf (1.2 MB, SHA-256 3f2a9c1e0b7d)"."""
        return str(self.said)

    @property
    def content_type(self) -> str:
        """The content type it is served with: its recognised kind's."""
        return KIND_OF_KEY[self.kind].content_type


class Sniffer:
    """Facts about one file gathered chunk by chunk as it streams in: size, SHA-256, head, text or not."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.head = b""
        self._hash = hashlib.sha256()
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._text = True
        self._tail = b""
        self._streams: set[str] = set()

    @property
    def over_limit(self) -> bool:
        """More bytes came than a file may have: the caller stops reading."""
        return self.size > self.max_bytes

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk of the file."""
        self.size += len(chunk)
        self._hash.update(chunk)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        if self._text:
            self._text = b"\0" not in chunk and self._decodes(chunk, final=False)
        # A stream's name in a Compound File's directory, possibly split across two chunks.
        window = self._tail + chunk
        self._streams.update(key for key, name in _OLE_NAMES.items() if name in window)
        self._tail = window[-_OLE_TAIL:]

    def _decodes(self, chunk: bytes, *, final: bool) -> bool:
        try:
            self._utf8.decode(chunk, final=final)
        except UnicodeDecodeError:
            return False
        return True

    def facts(self, ooxml: str | None = None) -> FileFacts:
        """What the file is; `ooxml`: the kind `ooxml_kind` found in its zip parts (the caller reads them)."""
        text = self._text and self._decodes(b"", final=True)
        return FileFacts(
            size=self.size,
            sha256=self._hash.hexdigest(),
            content_kinds=content_kinds(
                self.head, text=text, ole_streams=frozenset(self._streams), ooxml=ooxml
            ),
            complete=not self.over_limit,
        )


def content_kinds(
    head: bytes, *, text: bool, ole_streams: frozenset[str], ooxml: str | None
) -> tuple[str, ...]:
    """The kinds a file's content can be, from its first bytes, whether it is UTF-8 text without NUL,
    the main streams of a Compound File and the kind of an Office Open XML package."""
    kinds: list[str] = []
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"%PDF-"):
        kinds.append("pdf")
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        kinds.append("png")
    elif head.startswith(b"\xff\xd8\xff"):
        kinds.append("jpeg")
    elif head.startswith((b"GIF87a", b"GIF89a")):
        kinds.append("gif")
    elif head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        kinds.append("webp")
    elif head.startswith(OLE_MAGIC):
        # A Word file may embed a workbook and the reverse: each main stream found is a kind it can be.
        kinds.extend(key for key in OLE_STREAMS if key in ole_streams)
    elif head.startswith(ZIP_MAGIC) and ooxml:
        kinds.append(ooxml)
    if text and head:
        kinds.append("text")
    return tuple(kinds)


def ooxml_kind(parts: frozenset[str], content_types: str) -> str | None:
    """The Office Open XML kind of a zip from its part names and [Content_Types].xml (None: not one).

    The main part must be there and be declared with the plain document's content type: a
    macro-enabled file (.docm, .xlsm, .pptm) declares another one and is not accepted.
    """
    if CONTENT_TYPES_PART not in parts:
        return None
    for key, (main, content_type) in OOXML_MAIN.items():
        if main in parts and f'ContentType="{content_type}"' in content_types:
            return key
    return None


def clean_name(raw: str) -> str:
    """A file's name as shown and served: its last path part, no control characters, at most NAME_MAX.

    Browsers send the name the sender's computer gives the file; an old one sends a whole path.
    """
    name = re.split(r"[\\/]", raw)[-1]
    name = "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in name)
    name = " ".join(name.split()).strip(". ") or "file"
    if len(name) > NAME_MAX:
        _, dot, extension = name.rpartition(".")
        extension = extension if dot and len(extension) <= 10 else ""
        name = name[: NAME_MAX - len(extension) - 1].rstrip() + (f".{extension}" if extension else "")
    return name


def extension_of(name: str) -> str:
    """A name's extension, lower case with its dot ("" when it has none)."""
    stem, dot, extension = name.rpartition(".")
    return f".{extension.lower()}" if dot and stem else ""


def judge_file(name: str, facts: FileFacts, limits: EvidenceLimits) -> tuple[FileKind | None, Message | None]:
    """Whether one file may be attached: its kind, or a sentence naming the file and what is wrong."""
    claimed = KIND_OF_EXTENSION.get(extension_of(name))
    if claimed is None:
        said = N_("'%(name)s' is not a kind of file accepted as evidence; attach %(accepted)s")
        return None, Message(said, {"name": name, "accepted": Message(ACCEPTED)})
    if not facts.complete or facts.size > limits.max_bytes:
        said = N_("'%(name)s' is larger than %(size)s, the most a file may have")
        return None, Message(said, {"name": name, "size": size_said(limits.max_bytes)})
    if facts.size == 0:
        return None, Message(N_("'%(name)s' is empty"), {"name": name})
    if claimed.key not in facts.content_kinds:
        found = KIND_OF_KEY[facts.content_kinds[0]].label if facts.content_kinds else NONE_ACCEPTED
        said = N_("'%(name)s' is not %(kind)s: its content is %(found)s")
        return None, Message(said, {"name": name, "kind": Message(claimed.label), "found": Message(found)})
    return claimed, None


def judge_count(names: list[str], attached: int, limits: EvidenceLimits) -> list[Message]:
    """Sentences for the files beyond an answer's limit, given how many it keeps already; [] when all fit."""
    room = max(limits.max_files - attached, 0)
    said = N_(
        "'%(name)s' is one too many: an answer may have at most %(max)s files "
        "(%(attached)s attached already); remove one first"
    )
    return [
        Message(said, {"name": name, "max": limits.max_files, "attached": attached}) for name in names[room:]
    ]


def size_said(size: int) -> Message:
    """A size for people, to translate: "12 bytes", "340 KB", "1.2 MB" (1 KB = 1,024 bytes)."""
    if size < 1024:
        return Message(N_("%(size)s byte") if size == 1 else N_("%(size)s bytes"), {"size": size})
    if size < 1024 * 1024:
        return Message(N_("%(size)s KB"), {"size": round(size / 1024)})
    megabytes = round(size / (1024 * 1024), 1)
    return Message(N_("%(size)s MB"), {"size": int(megabytes) if megabytes.is_integer() else megabytes})


def human_size(size: int) -> str:
    """A size for people, in English: "12 bytes", "340 KB", "1.2 MB"."""
    return str(size_said(size))


def site_name(name: str) -> str:
    """A file name safe in any URL and on any disk ("Annual report 2025.PDF" -> "annual-report-2025.pdf")."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "file"
    safe_extension = re.sub(r"[^a-z0-9]", "", extension.lower())
    return f"{slug}.{safe_extension}" if safe_extension else slug
