"""The CloudEvents 1.0 envelope every event travels in, with plantwire's extensions.

Identity is ``source`` + ``id`` (set by the sender from the business document); ``partitionkey``
orders events of one business key; ``contractversion`` names the data contract version. Other
extensions (``correlationid``, ``causationid``, ``plant``, ``traceparent``, ...) ride along untouched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

SPEC_VERSION = "1.0"
CORE_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "time", "subject", "datacontenttype", "dataschema"}
)
OUR_ATTRIBUTES = frozenset({"partitionkey", "contractversion"})
JSON_OBJECT = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Envelope:
    """One validated event: CloudEvents context attributes, our extensions and canonical data."""

    id: str
    source: str
    type: str
    partitionkey: str
    contractversion: str
    data: JSON_OBJECT
    time: str | None = None
    subject: str | None = None
    datacontenttype: str | None = None
    dataschema: str | None = None
    extensions: JSON_OBJECT = field(default_factory=dict)

    @property
    def identity(self) -> tuple[str, str]:
        """The idempotency identity: (source, id)."""
        return (self.source, self.id)

    def to_cloudevent(self) -> JSON_OBJECT:
        """The structured-mode JSON object of this event."""
        out: JSON_OBJECT = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "partitionkey": self.partitionkey,
            "contractversion": self.contractversion,
        }
        for name in ("time", "subject", "datacontenttype", "dataschema"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out.update(self.extensions)
        out["data"] = self.data
        return out

    def canonical_bytes(self) -> bytes:
        """Canonical JSON (sorted keys): what the journal stores and digests."""
        return orjson.dumps(self.to_cloudevent(), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_cloudevent(cls, obj: JSON_OBJECT) -> Envelope:
        """Rebuild an envelope from a journaled structured-mode object (already validated)."""
        extensions = {
            k: v for k, v in obj.items()
            if k not in CORE_ATTRIBUTES and k not in OUR_ATTRIBUTES and k != "data"
        }
        return cls(
            id=obj["id"],
            source=obj["source"],
            type=obj["type"],
            partitionkey=obj["partitionkey"],
            contractversion=obj["contractversion"],
            data=obj["data"],
            time=obj.get("time"),
            subject=obj.get("subject"),
            datacontenttype=obj.get("datacontenttype"),
            dataschema=obj.get("dataschema"),
            extensions=extensions,
        )


def digest(body: bytes) -> bytes:
    """Content digest used to tell a harmless resend from a conflicting one."""
    return hashlib.sha256(body).digest()


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """An envelope as stored: its journal sequence number and when the hub recorded it."""

    seq: int
    recorded_at: float
    envelope: Envelope

    @property
    def type(self) -> str:
        """The event type, for routing."""
        return self.envelope.type

    @property
    def key(self) -> str:
        """The per-key ordering key."""
        return self.envelope.partitionkey


class OutboxRow(NamedTuple):
    """One journal entry as the bus relay sends it: what it routes on, and the stored body."""

    seq: int
    recorded_at: float
    source: str
    event_id: str
    type: str
    key: str
    plant: str | None
    body: bytes

    @classmethod
    def of(cls, entry: JournalEntry) -> OutboxRow:
        """The row of an entry read back as an envelope (journals that cannot hand out rows)."""
        env = entry.envelope
        plant = env.extensions.get("plant")
        return cls(entry.seq, entry.recorded_at, env.source, env.id, env.type, env.partitionkey,
                   None if plant is None else str(plant), env.canonical_bytes())


@dataclass(frozen=True, slots=True)
class Appended:
    """Result of appending one envelope: its sequence, and whether it was already there."""

    seq: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Conflicted:
    """Result of appending an envelope whose identity is journaled with other content."""

    seq: int


AppendOutcome = Appended | Conflicted


class Pending:
    """An event ready for the journal: what the journal indexes, its canonical body and digest.

    The envelope is kept when the event was built from one (`of`); otherwise (the ingest hot
    path, which encodes the body directly) it is read back from the body the first time it is
    asked for, so a journal that only stores rows never pays for it. A plain slotted class, not
    a frozen dataclass: one is made per ingested event, and treated as immutable."""

    __slots__ = ("_envelope", "body", "digest", "id", "partitionkey", "source", "type")

    def __init__(self, source: str, id: str, type: str, partitionkey: str, body: bytes,  # noqa: A002
                 digest: bytes, envelope: Envelope | None = None) -> None:
        self.source, self.id, self.type, self.partitionkey = source, id, type, partitionkey
        self.body, self.digest, self._envelope = body, digest, envelope

    @classmethod
    def of(cls, envelope: Envelope) -> Pending:
        """Prepare an envelope for appending."""
        body = envelope.canonical_bytes()
        return cls(envelope.source, envelope.id, envelope.type, envelope.partitionkey, body,
                   digest(body), envelope)

    @property
    def envelope(self) -> Envelope:
        """The event as an Envelope."""
        if self._envelope is None:
            self._envelope = Envelope.from_cloudevent(orjson.loads(self.body))
        return self._envelope

    @property
    def identity(self) -> tuple[str, str]:
        """The idempotency identity: (source, id)."""
        return (self.source, self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pending) and (self.body, self.digest) == (other.body, other.digest)

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:
        return (f"Pending({self.source!r}, {self.id!r}, {self.type!r}, {self.partitionkey!r}, "
                f"{len(self.body)} bytes)")
