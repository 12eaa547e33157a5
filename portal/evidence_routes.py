"""Evidence files: what a reply form sends (files to attach, files to remove), and their downloads.

`/r/{token}?file={id}` serves a file of the agency's own request to its reply link (a link relative
to the reply page, which never spells out the token); `/cycles/{slug}/evidence/{id}` serves any
file of the cycle to the secretariat. A file is always
sent as an attachment, with the content type its content was recognised as, never cached and never
sniffed by the browser: an HTML file passed off as text is saved, never shown as a page.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.datastructures import FormData, UploadFile

from domain.errors import NotFound
from domain.evidence import FIELD
from domain.numbers import ascii_number
from portal.secretariat_routes import is_secretariat, sign_in
from portal.security import NO_STORE
from portal.web import Portal, unauthorized
from workflows.queries import evidence as reads
from workflows.queries.progress import cycle_name_of_slug
from workflows.queries.reply_views import ReplyPage
from workflows.services.evidence import EvidenceChanges, Upload

REMOVE = "remove_evidence"
# Served files may not run anything or be framed, whatever a browser makes of them.
DOWNLOAD_HEADERS = {
    "Cache-Control": NO_STORE,
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


def evidence_changes(form: FormData, fields: dict[str, str], page: ReplyPage) -> EvidenceChanges:
    """The files a reply form attaches (`evidence_files-<item>`, items of this page only) and removes."""
    uploads = tuple(
        Upload(item.recommendation_id, sent.filename, sent.file)
        for item in page.items
        for sent in form.getlist(f"{FIELD}-{item.recommendation_id}")
        if isinstance(sent, UploadFile) and sent.filename  # an input left empty sends a nameless part
    )
    removals = tuple(
        number
        for name, value in fields.items()
        if name.startswith(f"{REMOVE}-")
        and value == "yes"
        and (number := ascii_number(name.removeprefix(f"{REMOVE}-"), max_digits=9)) is not None
    )
    return EvidenceChanges(uploads, removals)


def agency_file(portal: Portal, token: str, file_id: str) -> FileResponse:
    """A file attached to one of the agency's answers, for the agency (`/r/{token}?file={id}`)."""
    found = reads.agency_download(
        portal.uow(), portal.clock, token, _file_number(file_id), grace_days=portal.settings.token_grace_days
    )
    return _send(portal, found)


def evidence_routes(portal: Portal) -> APIRouter:
    """The secretariat's download route of evidence files."""
    router = APIRouter()

    @router.get("/cycles/{slug}/evidence/{file_id}")
    def secretariat_file(slug: str, file_id: str, request: Request, key: str | None = None) -> Response:
        """A file attached to any answer of the cycle, for the secretariat."""
        if not portal.settings.secretariat_token:
            raise NotFound("no secretariat token configured")
        if key is not None:
            return sign_in(portal, key, f"/cycles/{quote(slug, safe='')}/evidence/{_file_number(file_id)}")
        if not is_secretariat(portal, request):
            return unauthorized()
        name = cycle_name_of_slug(portal.uow(), slug)
        return _send(portal, reads.secretariat_download(portal.uow(), name, _file_number(file_id)))

    return router


def _file_number(text: str) -> int:
    number = ascii_number(text, max_digits=9)
    if number is None:
        raise NotFound("no such evidence file")
    return number


def _send(portal: Portal, found: reads.Download) -> FileResponse:
    """The file as an attachment under its name, typed as its content was recognised."""
    path = portal.evidence.path_of(found.storage_key)
    if not path.is_file():
        raise NotFound("the evidence file is missing from the storage")
    return FileResponse(
        path,
        media_type=found.file.content_type,
        headers={**DOWNLOAD_HEADERS, "Content-Disposition": attachment(found.file.name)},
    )


def attachment(name: str) -> str:
    """A Content-Disposition saving the file under its name: plain ASCII for old clients, UTF-8 for all."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
