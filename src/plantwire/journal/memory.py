"""In-memory journal and state store: real semantics, no durability; for tests and fakes."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from plantwire.envelope import Appended, AppendOutcome, Conflicted, JournalEntry, Pending
from plantwire.journal.codec import add_exact, dump_value, load_value
from plantwire.ports import Clock


class MemoryJournal:
    """A journal held in a list; identities in a dict."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._entries: list[tuple[JournalEntry, bytes]] = []
        self._by_identity: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def append(self, batch: Sequence[Pending]) -> list[AppendOutcome]:
        """Insert-if-absent on (source, id)."""
        out: list[AppendOutcome] = []
        with self._lock:
            now = self._clock.now()
            for item in batch:
                seq = self._by_identity.get(item.identity)
                if seq is not None:
                    same = self._entries[seq - 1][1] == item.digest
                    out.append(Appended(seq, True) if same else Conflicted(seq))
                    continue
                seq = len(self._entries) + 1
                self._entries.append((JournalEntry(seq, now, item.envelope), item.digest))
                self._by_identity[item.identity] = seq
                out.append(Appended(seq, False))
        return out

    def read(
        self, after: int, limit: int, types: Collection[str] | None = None
    ) -> tuple[list[JournalEntry], int]:
        """Entries after a sequence, optionally of some types."""
        with self._lock:
            window = [e for e, _ in self._entries[after : after + limit]]
        last = window[-1].seq if window else after
        if types:
            window = [e for e in window if e.type in types]
        return window, last

    def get(self, source: str, event_id: str) -> JournalEntry | None:
        """Look up by identity."""
        with self._lock:
            seq = self._by_identity.get((source, event_id))
            return self._entries[seq - 1][0] if seq else None

    def get_seq(self, seq: int) -> JournalEntry | None:
        """Look up by sequence."""
        with self._lock:
            return self._entries[seq - 1][0] if 0 < seq <= len(self._entries) else None

    def head(self) -> int:
        """Highest sequence."""
        return len(self._entries)

    def close(self) -> None:
        """Nothing to release."""


class _MemoryTx:
    """Writes go to an overlay that is applied on commit."""

    def __init__(self, data: dict[str, dict[str, bytes]]) -> None:
        self._data = data
        self.writes: dict[tuple[str, str], bytes | None] = {}

    def _raw(self, ns: str, key: str) -> bytes | None:
        if (ns, key) in self.writes:
            return self.writes[(ns, key)]
        return self._data.get(ns, {}).get(key)

    def get(self, ns: str, key: str) -> Any | None:
        raw = self._raw(ns, key)
        return None if raw is None else load_value(raw)

    def put(self, ns: str, key: str, value: Any) -> None:
        self.writes[(ns, key)] = dump_value(value)

    def delete(self, ns: str, key: str) -> None:
        self.writes[(ns, key)] = None

    def clear(self, ns: str) -> None:
        for key in self._data.get(ns, {}):
            self.writes[(ns, key)] = None
        for wns, key in list(self.writes):
            if wns == ns:
                self.writes[(wns, key)] = None

    def add(self, ns: str, key: str, delta: Decimal | int) -> Decimal:
        value = add_exact(self.get(ns, key), delta)
        self.put(ns, key, value)
        return value

    def scan(
        self, ns: str, prefix: str = "", after: str | None = None, limit: int | None = None
    ) -> list[tuple[str, Any]]:
        merged = dict(self._data.get(ns, {}))
        for (wns, key), raw in self.writes.items():
            if wns != ns:
                continue
            if raw is None:
                merged.pop(key, None)
            else:
                merged[key] = raw
        keys = sorted(k for k in merged if k.startswith(prefix) and (after is None or k > after))
        if limit is not None:
            keys = keys[:limit]
        return [(k, load_value(merged[k])) for k in keys]

    def commit(self) -> None:
        for (ns, key), raw in self.writes.items():
            bucket = self._data.setdefault(ns, {})
            if raw is None:
                bucket.pop(key, None)
            else:
                bucket[key] = raw


class MemoryState:
    """State store in dicts; transactions are serialised by a lock."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, bytes]] = {}
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTx]:
        """Commit the overlay on success; drop it on error."""
        with self._lock:
            tx = _MemoryTx(self._data)
            yield tx
            tx.commit()

    def close(self) -> None:
        """Nothing to release."""


__all__ = ["MemoryJournal", "MemoryState"]
