"""Random public identifiers and secret tokens."""

import hashlib
import secrets

_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def public_id(length: int = 12) -> str:
    """A random id for URLs: no sequence to walk, no look-alike characters."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_token() -> str:
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
