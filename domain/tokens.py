"""Secure reply tokens: 256 random bits from `secrets`, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    """A fresh URL-safe token (32 random bytes)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hash under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_match(token: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented token with a stored hash."""
    return hmac.compare_digest(hash_token(token), stored_hash)
