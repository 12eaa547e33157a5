"""Use case: publish the public record as a static site, replacing the previous one in one move.

The site is rendered whole in memory, written into a fresh folder beside the target, and only then
swapped in by renames: a publish that fails at any point leaves the previous site as it was.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from domain.errors import ValidationError
from domain.publication import PublicRecord
from reporting.site import evidence_path, render_site
from workflows.services.evidence import EvidenceStore

# Written into every published site: a folder without it is never replaced (it may be anything).
MARKER = ".followup-site"


@dataclass(frozen=True)
class Published:
    """What a publish wrote."""

    out_dir: Path
    pages: int
    recommendations: int
    cycles: int


def publish(record: PublicRecord, out_dir: Path, store: EvidenceStore | None = None) -> Published:
    """Write the public record's site to `out_dir`, replacing a site published there before.

    The record is read by `workflows.queries.public_record.public_record_of`. The evidence files the
    secretariat made public are copied in from `store` (a record with such files and no store is
    refused rather than published with broken links).
    """
    out_dir = out_dir.resolve()
    if (
        out_dir.exists()
        and not (out_dir / MARKER).exists()
        and (not out_dir.is_dir() or any(out_dir.iterdir()))
    ):
        raise ValidationError(
            "--out",
            f"{out_dir} exists and is not a site published by Follow-up: choose an empty or new folder",
        )
    files = render_site(record)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f".{out_dir.name}.{uuid.uuid4().hex}.tmp")
    retired = out_dir.with_name(f".{out_dir.name}.{uuid.uuid4().hex}.old")
    try:
        for relative, content in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        _copy_public_files(record, store, staging)
        (staging / MARKER).write_text("Published by `followup publish`; replaced whole at each publish.\n")
        _readable_by_all(staging)
        if out_dir.exists():
            out_dir.rename(retired)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired.exists() and not out_dir.exists():
            retired.rename(out_dir)  # put the previous site back
        raise
    shutil.rmtree(retired, ignore_errors=True)
    return Published(
        out_dir=out_dir,
        pages=sum(1 for name in files if name.endswith(".html")),
        recommendations=len(record.recommendations),
        cycles=len(record.cycles),
    )


def _copy_public_files(record: PublicRecord, store: EvidenceStore | None, staging: Path) -> None:
    """Copy every public evidence file to its path in the site (a missing one refuses the publish)."""
    for rec in record.recommendations:
        for entry in rec.timeline:
            for answer in entry.answers:
                for file in answer.files:
                    source = store.path_of(file.storage_key) if store is not None else None
                    if source is None or not source.is_file():
                        raise ValidationError(
                            "evidence",
                            f"the public evidence file '{file.name}' of {rec.code} ({answer.agency_code}, "
                            f"{entry.cycle}) is missing from the evidence folder",
                        )
                    target = staging / evidence_path(file)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)


def _readable_by_all(site: Path) -> None:
    """Folders 0755, files 0644: the process's umask keeps what it writes owner-only, but a web
    server serving the site runs as another user."""
    site.chmod(0o755)
    for path in site.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
