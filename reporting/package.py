"""Streaming text into a saved Office package (.docx, .xlsx): the bulk of a large report.

python-docx and openpyxl make every paragraph, table cell or spreadsheet cell a Python object,
which takes seconds to minutes at 10,000 recommendations and, as an element tree, hundreds of
megabytes. So the renderers let the library write a small skeleton (styles, pictures, headers,
sheet settings) and write the bulk themselves as XML text, streamed into the saved package here.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, BinaryIO
from xml.sax.saxutils import escape

# Characters XML 1.0 does not allow (agencies paste text from anywhere): dropped, not an error.
ILLEGAL_IN_XML = "\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff"  # a regex character class's inside
_ILLEGAL = re.compile(f"[{ILLEGAL_IN_XML}]")
# Those, or a character to escape: most text has none, and goes out as it is.
_SPECIAL = re.compile(f"[&<>{ILLEGAL_IN_XML}]")


def xml_allowed(text: str) -> str:
    """`text` without the characters XML does not allow (a cell or a run cannot hold them)."""
    return _ILLEGAL.sub("", text) if _ILLEGAL.search(text) else text


def xml_text(text: object) -> str:
    """`text` as XML character data: escaped, characters XML does not allow removed."""
    text = str(text)
    return escape(_ILLEGAL.sub("", text)) if _SPECIAL.search(text) else text


# The bulk member is deflated at level 1: twice as fast as the default level 6, for a file about a
# third larger (a 100,000-item report's document or sheet is hundreds of megabytes of XML).
BULK_COMPRESSION = 1


@contextmanager
def spliced(
    package: bytes,
    member: str,
    before: bytes,
    into: BinaryIO,
    *,
    later: Mapping[str, Callable[[], bytes]] | None = None,
) -> Iterator[IO[bytes]]:
    """`package` written into `into`; what is written to the stream yielded goes into its `member`,
    just before the last occurrence of `before`.

    The members named in `later` (pictures drawn while the bulk is written) are written last, with
    the content their function gives once the bulk is done, in place of the package's own.
    """
    later = later or {}
    bulk = zipfile.ZipFile(into, "w", zipfile.ZIP_DEFLATED, compresslevel=BULK_COMPRESSION)
    with zipfile.ZipFile(io.BytesIO(package)) as source, bulk as target:
        missing = set(later).difference(source.namelist())
        if missing:
            raise ValueError(f"the package has no member {', '.join(sorted(missing))} to write later")
        for info in source.infolist():
            if info.filename in later:
                continue
            content = source.read(info)
            if info.filename != member:
                target.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED)
                continue
            end = content.rindex(before)
            with target.open(info.filename, "w") as stream:
                stream.write(content[:end])
                yield stream
                stream.write(content[end:])
        for info in source.infolist():
            if info.filename in later:
                target.writestr(info, later[info.filename](), compress_type=zipfile.ZIP_DEFLATED)
