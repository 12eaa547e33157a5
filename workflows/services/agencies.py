"""The agency registry: load it from YAML (shipped or the secretariat's), list it, edit contacts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.errors import ValidationError
from domain.language import Language, parse_language
from domain.model import Agency, Answering, Contact, ContactRole
from domain.ports import UnitOfWork
from workflows.services.intake import yaml_data

SHIPPED_REGISTRY = Path(__file__).resolve().parents[2] / "db" / "seed" / "agencies.yaml"


@dataclass(frozen=True)
class RegistryLoad:
    """What loading a registry did."""

    added: int
    updated: int


def parse_registry(text: str, *, source: str = "registry") -> list[Agency]:
    """Parse a registry YAML document into agencies; errors name the entry and field."""
    # The same guarded loader as owners files: no aliases, bounded size and depth, safe types only.
    documents = yaml_data(text, source=source)
    document = documents[0] if len(documents) == 1 else None
    entries = document.get("agencies") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValidationError(source, "expected one document with a top-level 'agencies:' list")
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


def _text(entry: dict[str, Any], key: str, where: str, *, required: bool = False, default: str = "") -> str:
    """A field that must be a single piece of text (a list or mapping there is a mistake)."""
    value = entry.get(key)
    if isinstance(value, (list, dict)):
        raise ValidationError(f"{where}.{key}", "must be a single piece of text, not a list or mapping")
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValidationError(f"{where}.{key}", "is required")
    return text or default


def _list(entry: dict[str, Any], key: str, where: str) -> list[Any]:
    value = entry.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"{where}.{key}", "must be a list")
    return value


def _agency_from(entry: dict[str, Any], where: str) -> Agency:
    code, name = _text(entry, "code", where, required=True), _text(entry, "name", where, required=True)
    contacts: list[Contact] = []
    for n, raw in enumerate(_list(entry, "contacts", where), start=1):
        at = f"{where}.contacts[{n}]"
        if not isinstance(raw, dict):
            raise ValidationError(at, "each contact must be a mapping with name and email")
        language = _language(raw, at, required=False)
        try:
            contact = Contact(
                name=_text(raw, "name", at),
                email=_text(raw, "email", at),
                role=_text(raw, "role", at, default="focal_point"),
                language=language,
            )
        except ValidationError as exc:
            raise ValidationError(f"{at}.{exc.field}", exc.message) from exc
        except ValueError as exc:  # an unknown role
            raise ValidationError(f"{at}.role", str(exc)) from exc
        if any((c.email, c.role) == (contact.email, contact.role) for c in contacts):
            raise ValidationError(f"{at}.email", f"{contact.email} is listed twice as {contact.role}")
        contacts.append(contact)
    aliases = _list(entry, "aliases", where)
    if any(isinstance(alias, (list, dict)) for alias in aliases):
        raise ValidationError(f"{where}.aliases", "must be a list of names")
    answers, through = _answering(entry.get("answers"), f"{where}.answers")
    language = _language(entry, where, required=True)
    translations = entry.get("translations")
    translations = {} if translations is None else translations
    if not isinstance(translations, dict):
        raise ValidationError(
            f"{where}.translations", "must map a language to a name: {fr: l’OIT, es: la OIT}"
        )
    for language_code, translated in translations.items():
        if not isinstance(translated, str):
            raise ValidationError(f"{where}.translations.{language_code}", "must be a name, written as text")
    try:
        return Agency(
            code=code,
            name=name,
            aliases=[str(a) for a in aliases],
            contacts=contacts,
            short_name=_text(entry, "short_name", where),
            article=_text(entry, "article", where),
            answers=answers,
            through=through,
            language=language or Language.EN,
            translations={str(language_code): name for language_code, name in translations.items()},
        )
    except ValidationError as exc:
        raise ValidationError(f"{where}.{exc.field}", exc.message) from exc


def _language(entry: dict[str, Any], where: str, *, required: bool) -> str | None:
    """The entry's `language` (en, fr or es): an agency's defaults to English, a contact's to its agency's."""
    text = _text(entry, "language", where)
    if not text:
        return Language.EN.value if required else None
    return parse_language(text, field=f"{where}.language").value


def _answering(value: Any, where: str) -> tuple[Answering, str | None]:
    """`self` (or nothing), `secretariat`, or `{through: CODE}`."""
    if value is None or value in (Answering.SELF.value, Answering.SECRETARIAT.value):
        return Answering(value or Answering.SELF), None
    if isinstance(value, dict) and set(value) == {"through"} and str(value["through"] or "").strip():
        return Answering.THROUGH, str(value["through"]).strip()
    raise ValidationError(where, f"expected self, secretariat or {{through: CODE}}, not {value!r}")


def _check_through(agencies: list[Agency], answers_of: dict[str, str], source: str) -> None:
    """A body answering through another names one the registry has (`answers_of`: how each known body
    answers, stored or in this file), which answers for itself: not a body the secretariat answers for."""
    for agency in agencies:
        if agency.through is None:
            continue
        if agency.through not in answers_of:
            raise ValidationError(
                f"{source}: {agency.code}.answers", f"through '{agency.through}': no such agency"
            )
        if answers_of[agency.through] != Answering.SELF.value:
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
        answers_of = {a.code: a.answers for a in uow.agencies.list()} | {a.code: a.answers for a in parsed}
        _check_through(parsed, answers_of, source)
        for agency in parsed:
            existing = uow.agencies.get(agency.code)
            if existing is None:
                uow.agencies.add(agency)
                added += 1
                continue
            if not update_existing:
                # Edits are kept; a body registered before names in other languages were kept gets them.
                if not existing.translations:
                    existing.translations = agency.translations
                continue
            existing.name, existing.aliases = agency.name, agency.aliases
            existing.short_name, existing.article = agency.short_name, agency.article
            existing.answers, existing.through = agency.answers, agency.through
            existing.language = agency.language
            # What the file leaves out is kept: a registry written before names in other languages.
            if agency.translations:
                existing.translations = agency.translations
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
    uow: UnitOfWork,
    code: str,
    *,
    name: str,
    email: str,
    role: ContactRole,
    replace: bool,
    language: Language | str | None = None,
) -> Agency:
    """Add a contact to an agency (or, with `replace`, make it the only one of its role).

    `language` is what the contact reads, when not the agency's (en, fr or es).
    """
    contact = Contact(name=name, email=email, role=role, language=language)  # validates address, language
    with uow:
        agency = uow.agencies.require(code)
        known = next((c for c in agency.contacts if c.role == role.value and c.email == contact.email), None)
        if known is not None:  # updated in place: a new row with its address would collide with it
            known.name, known.language = contact.name, contact.language
        if replace:
            agency.contacts = [*(c for c in agency.contacts if c.role != role.value), known or contact]
        elif known is None:
            agency.contacts = [*agency.contacts, contact]
        uow.commit()
        return agency


def set_language(uow: UnitOfWork, code: str, language: Language | str) -> Agency:
    """Write to an agency in `language` (en, fr or es) from now on: e-mails, reply page, templates."""
    chosen = parse_language(language)
    with uow:
        agency = uow.agencies.require(code)
        agency.language = chosen.value
        uow.commit()
        return agency
