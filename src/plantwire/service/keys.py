"""API keys: created once (the token is shown only then), stored as SHA-256 hashes, revocable.

Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from plantwire.errors import NotFound, PermanentError
from plantwire.ports import Clock, StateStore

KEYS = "apikeys"
NAMES = "apikey-names"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CACHE_SECONDS = 2.0


class KeyNameInvalid(PermanentError):
    """The key name is taken or malformed."""


def token_hash(token: str) -> str:
    """What is stored for a token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class ApiKeys:
    """Create, verify, list and revoke API keys."""

    state: StateStore
    clock: Clock
    _cache: dict[str, tuple[str, float]] = field(default_factory=dict)

    def create(self, name: str) -> str:
        """A new key for `name`; returns the token, which is not stored anywhere."""
        if not NAME.match(name):
            raise KeyNameInvalid(
                f"key name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
        token = "pw_" + secrets.token_urlsafe(32)
        digest = token_hash(token)
        with self.state.transaction() as tx:
            if tx.get(NAMES, name) is not None:
                raise KeyNameInvalid(f"a key named {name!r} exists; revoke it first")
            tx.put(KEYS, digest, {"name": name, "created_at": self.clock.now(), "revoked_at": None})
            tx.put(NAMES, name, digest)
        return token

    def verify(self, token: str) -> str | None:
        """The key's name if the token is a live key, else None."""
        digest = token_hash(token)
        now = self.clock.now()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        with self.state.transaction() as tx:
            record = tx.get(KEYS, digest)
        if record is None or record["revoked_at"] is not None:
            self._cache.pop(digest, None)
            return None
        self._cache[digest] = (str(record["name"]), now + CACHE_SECONDS)
        return str(record["name"])

    def list(self) -> list[dict[str, Any]]:
        """Live keys by name (never their tokens)."""
        with self.state.transaction() as tx:
            return [dict(name=n, **{k: v for k, v in (tx.get(KEYS, d) or {}).items() if k != "name"})
                    for n, d in tx.scan(NAMES)]

    def revoke(self, name: str) -> None:
        """Stop a key working (in this process at once; in others within their cache's life)."""
        with self.state.transaction() as tx:
            digest = tx.get(NAMES, name)
            if digest is None:
                raise NotFound(f"no API key named {name!r}")
            record = tx.get(KEYS, digest) or {}
            record["revoked_at"] = self.clock.now()
            tx.put(KEYS, digest, record)
            tx.delete(NAMES, name)
        self._cache.pop(digest, None)
