"""The contract every simulator sink keeps, as an abstract suite run against the real simulators.

A flow's tests may use their own fake sinks; a fake is faithful when it behaves as this suite says:

- every (target, name) of ``domain.commands.COMMANDS`` for the target is carried out and answers a dict
  naming what the system created;
- the same idempotency key twice takes effect once and answers the same document;
- a call the system committed but did not answer in time (timeout) raises TargetUnavailable, and the
  retry with the same key takes no second effect;
- 5xx, an outage and an unreachable system raise TargetUnavailable (retryable);
- an id without a cross-reference, a foreign command and an invalid payload raise PermanentError.

Subclass ``SinkContract`` with ``system``, ``make_sink``, ``examples``, ``effects`` and ``unknown``.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from plantwire.domain.commands import COMMANDS
from plantwire.errors import PermanentError, TargetUnavailable
from plantwire.ports import Command, Sink
from plantwire.simulators.testing import SimProcess, free_port

FLAGS = frozenset({"existing", "duplicate"})


def same_document(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two answers name the same document (flags saying "already there" aside)."""
    return {k: v for k, v in a.items() if k not in FLAGS} == {k: v for k, v in b.items() if k not in FLAGS}


class SinkContract:
    """Abstract: the behaviour every simulator sink must show."""

    system: str

    def make_sink(self, url: str, timeout: float = 10.0) -> Sink:
        raise NotImplementedError

    def examples(self, client: httpx.Client, unique: str) -> list[Command]:
        """One valid command per name of the target (first: the one the idempotency tests repeat),
        after preparing whatever the system needs for them to succeed."""
        raise NotImplementedError

    def effects(self, client: httpx.Client) -> int:
        """How many documents the first example's kind of command has created in the system."""
        raise NotImplementedError

    def unknown(self, unique: str) -> Command:
        """A command like the first example whose golden item id is `RM-UNKNOWN-<unique>`."""
        raise NotImplementedError

    @pytest.fixture
    def sim(self, sims: Any) -> SimProcess:
        return sims(self.system)  # type: ignore[no-any-return]

    @pytest.fixture
    def client(self, sim: SimProcess) -> Any:
        with sim.client() as c:
            yield c

    @pytest.fixture
    def unique(self) -> str:
        return uuid.uuid4().hex[:10]

    def test_every_command_of_the_target_is_carried_out(
        self, sim: SimProcess, client: httpx.Client, unique: str
    ) -> None:
        commands = self.examples(client, unique)
        names = {name for target, name in COMMANDS if target == self.system}
        assert {c.name for c in commands} == names
        sink = self.make_sink(sim.url)
        for n, command in enumerate(commands):
            answer = sink.execute(f"{unique}-{n}", command)
            assert isinstance(answer, dict) and answer

    def test_same_key_twice_takes_effect_once(
        self, sim: SimProcess, client: httpx.Client, unique: str
    ) -> None:
        command = self.examples(client, unique)[0]
        sink, before = self.make_sink(sim.url), self.effects(client)
        first = sink.execute(f"key-{unique}", command)
        again = sink.execute(f"key-{unique}", command)
        assert same_document(first, again)
        assert self.effects(client) == before + 1

    def test_timeout_then_retry_takes_effect_once(
        self, sim: SimProcess, client: httpx.Client, unique: str
    ) -> None:
        command = self.examples(client, unique)[0]
        before = self.effects(client)
        client.put("/admin/faults", json={"timeout_rate": 1.0, "timeout_seconds": 1.5}).raise_for_status()
        with pytest.raises(TargetUnavailable, match="in time"):
            self.make_sink(sim.url, timeout=0.4).execute(f"key-{unique}", command)
        assert self.effects(client) == before + 1  # the system committed although we saw a timeout
        client.delete("/admin/faults").raise_for_status()
        self.make_sink(sim.url).execute(f"key-{unique}", command)
        assert self.effects(client) == before + 1

    def test_server_error_is_retryable_and_has_no_effect(
        self, sim: SimProcess, client: httpx.Client, unique: str
    ) -> None:
        command = self.examples(client, unique)[0]
        before = self.effects(client)
        client.put("/admin/faults", json={"error_rate": 1.0}).raise_for_status()
        with pytest.raises(TargetUnavailable, match="500"):
            self.make_sink(sim.url).execute(f"key-{unique}", command)
        client.delete("/admin/faults").raise_for_status()
        assert self.effects(client) == before

    def test_outage_is_retryable(self, sim: SimProcess, client: httpx.Client, unique: str) -> None:
        command = self.examples(client, unique)[0]
        client.put("/admin/faults", json={"down_seconds": 30}).raise_for_status()
        with pytest.raises(TargetUnavailable, match="503"):
            self.make_sink(sim.url).execute(f"key-{unique}", command)

    def test_unreachable_is_retryable(self, client: httpx.Client, unique: str) -> None:
        command = self.examples(client, unique)[0]
        with pytest.raises(TargetUnavailable, match="unreachable"):
            self.make_sink(f"http://127.0.0.1:{free_port()}", timeout=2).execute(f"key-{unique}", command)

    def test_unknown_cross_reference_is_permanent_and_named(self, sim: SimProcess, unique: str) -> None:
        with pytest.raises(PermanentError, match=f"RM-UNKNOWN-{unique}"):
            self.make_sink(sim.url).execute(f"key-{unique}", self.unknown(unique))

    def test_foreign_or_invalid_command_is_permanent(
        self, sim: SimProcess, client: httpx.Client, unique: str
    ) -> None:
        sink = self.make_sink(sim.url)
        with pytest.raises(PermanentError):
            sink.execute(unique, Command("elsewhere", "post_goods_movement", {}))
        with pytest.raises(PermanentError):
            sink.execute(unique, Command(self.system, "no_such_command", {}))
        first = self.examples(client, unique)[0]
        with pytest.raises(PermanentError):
            sink.execute(unique, Command(first.target, first.name, {**first.payload, "surprise": 1}))
