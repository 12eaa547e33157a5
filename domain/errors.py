"""Errors the domain raises; each names what is wrong so a user can fix it."""


class DomainError(Exception):
    """Base class of every error the domain raises on purpose."""


class InvalidTransition(DomainError):
    """A lifecycle move that its transition table does not allow."""

    def __init__(self, entity: str, key: str, from_state: str, to_state: str) -> None:
        super().__init__(f"{entity} {key}: cannot move from '{from_state}' to '{to_state}'")
        self.entity = entity
        self.key = key
        self.from_state = from_state
        self.to_state = to_state


class ValidationError(DomainError):
    """Input that breaks a domain rule; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(DomainError):
    """A named thing (cycle, agency, recommendation, token) does not exist."""
