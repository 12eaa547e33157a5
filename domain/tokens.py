"""Secure reply tokens, stored only as a hash.

A token is HMAC-SHA256(secret key, nonce + cycle + agency), URL-safe. The secret key (256 bits
from `secrets`) lives outside the database; each request stores a fresh 128-bit nonce from
`secrets` and the token's SHA-256 hash. So a leaked database reveals no usable link, yet the
application can re-derive an agency's link for a reminder. Re-issuing draws a new nonce, which
makes the old link worthless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_secret_key() -> str:
    """A fresh 256-bit secret key, hex-encoded."""
    return secrets.token_hex(32)


def new_nonce() -> str:
    """A fresh 128-bit nonce for one status request, hex-encoded."""
    return secrets.token_hex(16)


def derive_token(secret_key: str, nonce: str, cycle_id: int, agency_code: str) -> str:
    """The reply token of one request (same inputs, same token)."""
    message = f"reply:{nonce}:{cycle_id}:{agency_code}".encode()
    digest = hmac.new(bytes.fromhex(secret_key), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def hash_token(token: str) -> str:
    """The hash under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_match(token: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented token with a stored hash."""
    return hmac.compare_digest(hash_token(token), stored_hash)


def key_fingerprint(secret_key: str) -> str:
    """A fingerprint of the secret key (an HMAC of a fixed label under it), safe to store with the data."""
    return hmac.new(bytes.fromhex(secret_key), b"followup:key-fingerprint:v1", hashlib.sha256).hexdigest()
