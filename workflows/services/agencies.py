"""The agency registry: load it from YAML (shipped or the secretariat's), list it, edit contacts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from domain.errors import ValidationError
from domain.model import Agency, Answering, Contact, ContactRole
from domain.ports import UnitOfWork

SHIPPED_REGISTRY = Path(__file__).resolve().parents[2] / "db" / "seed" / "agencies.yaml"


@dataclass(frozen=True)
class RegistryLoad:
    """What loading a registry did."""

    added: int
    updated: int


def parse_registry(text: str, *, source: str = "registry") -> list[Agency]:
    """Parse a registry YAML document into agencies; errors name the entry and field."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ValidationError(f"{source}{where}", f"not valid YAML: {exc}") from exc
    entries = (document or {}).get("agencies") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValidationError(source, "expected a top-level 'agencies:' list")
    agencies = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = f"{source}: agencies[{index}]"
        if not isinstance(entry, dict):
            raise ValidationError(where, "each agency must be a mapping with code and name")
        agencies.append(_agency_from(entry, where))
        if agencies[-1].code in seen:
            raise ValidationError(f"{where}.code", f"duplicate agency code '{agencies[-1].code}'")
        seen.add(agencies[-1].code)
    return agencies


def _agency_from(entry: dict[str, Any], where: str) -> Agency:
    for required in ("code", "name"):
        if not str(entry.get(required) or "").strip():
            raise ValidationError(f"{where}.{required}", "is required")
    contacts = []
    for n, raw in enumerate(entry.get("contacts") or [], start=1):
        try:
            contacts.append(
                Contact(
                    name=str(raw.get("name", "")),
                    email=str(raw.get("email", "")),
                    role=raw.get("role", "focal_point"),
                )
            )
        except (ValidationError, ValueError, AttributeError) as exc:
            raise ValidationError(f"{where}.contacts[{n}]", str(exc)) from exc
    answers, through = _answering(entry.get("answers"), f"{where}.answers")
    try:
        return Agency(
            code=str(entry["code"]).strip(),
            name=str(entry["name"]).strip(),
            aliases=[str(a) for a in entry.get("aliases") or []],
            contacts=contacts,
            short_name=str(entry.get("short_name") or ""),
            article=str(entry.get("article") or ""),
            answers=answers,
            through=through,
        )
    except ValidationError as exc:
        raise ValidationError(f"{where}.{exc.field}", exc.message) from exc


def _answering(value: Any, where: str) -> tuple[Answering, str | None]:
    """`self` (or nothing), `secretariat`, or `{through: CODE}`."""
    if value is None or value in (Answering.SELF.value, Answering.SECRETARIAT.value):
        return Answering(value or Answering.SELF), None
    if isinstance(value, dict) and set(value) == {"through"} and str(value["through"] or "").strip():
        return Answering.THROUGH, str(value["through"]).strip()
    raise ValidationError(where, f"expected self, secretariat or {{through: CODE}}, not {value!r}")


def _check_through(agencies: list[Agency], known: set[str], source: str) -> None:
    """A body answering through another names one the registry has, which answers for itself."""
    answers_of = {a.code: a.answers for a in agencies}
    for agency in agencies:
        if agency.through is None:
            continue
        if agency.through not in known:
            raise ValidationError(
                f"{source}: {agency.code}.answers", f"through '{agency.through}': no such agency"
            )
        if answers_of.get(agency.through, Answering.SELF.value) != Answering.SELF.value:
            raise ValidationError(
                f"{source}: {agency.code}.answers",
                f"through '{agency.through}', which does not answer for itself",
            )


def load_registry(
    uow: UnitOfWork, text: str, *, source: str = "registry", update_existing: bool = True
) -> RegistryLoad:
    """Add (and, unless told not to, update) agencies from a registry document; all or nothing."""
    parsed = parse_registry(text, source=source)
    added = updated = 0
    with uow:
        known = {a.code for a in uow.agencies.list()} | {a.code for a in parsed}
        _check_through(parsed, known, source)
        for agency in parsed:
            existing = uow.agencies.get(agency.code)
            if existing is None:
                uow.agencies.add(agency)
                added += 1
                continue
            if not update_existing:
                continue
            existing.name, existing.aliases = agency.name, agency.aliases
            existing.short_name, existing.article = agency.short_name, agency.article
            existing.answers, existing.through = agency.answers, agency.through
            if agency.contacts:
                existing.contacts = agency.contacts
            updated += 1
        uow.commit()
    return RegistryLoad(added, updated)


def load_shipped_registry(uow: UnitOfWork) -> RegistryLoad:
    """Load the registry that ships with Follow-up (agencies named in the sample report)."""
    # Never overwrite what the secretariat has edited since: only add agencies that are missing.
    return load_registry(
        uow, SHIPPED_REGISTRY.read_text(encoding="utf-8"), source=SHIPPED_REGISTRY.name, update_existing=False
    )


def set_contact(
    uow: UnitOfWork, code: str, *, name: str, email: str, role: ContactRole, replace: bool
) -> Agency:
    """Add a contact to an agency (or, with `replace`, make it the only one of its role)."""
    contact = Contact(name=name, email=email, role=role)  # validates the address
    with uow:
        agency = uow.agencies.require(code)
        kept = [
            c for c in agency.contacts if not (c.role == role.value and (replace or c.email == contact.email))
        ]
        agency.contacts = [*kept, contact]
        uow.commit()
        return agency
