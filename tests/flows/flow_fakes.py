"""The fake target the procurement-flow tests share: takes effect once per idempotency key, checks
each payload against its canonical command, and can be switched down or made to refuse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plantwire.domain.commands import COMMANDS
from plantwire.errors import BusinessRuleViolation, TargetUnavailable
from plantwire.flows.api import Command


class FakeSink:
    """A target that takes effect once per idempotency key; can be down or refuse commands."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.effects: dict[str, Command] = {}
        self.calls = 0
        self.down = False
        self.refuse: Callable[[Command], bool] = lambda c: False

    def execute(self, idempotency_key: str, command: Command) -> dict[str, Any]:
        self.calls += 1
        COMMANDS[(command.target, command.name)].model_validate(command.payload)
        if self.down:
            raise TargetUnavailable(f"{self.target} answered 503")
        if self.refuse(command):
            raise BusinessRuleViolation(f"{command.name} refused by {self.target}")
        self.effects.setdefault(idempotency_key, command)
        return {"document": f"{self.target.upper()}-{list(self.effects).index(idempotency_key) + 1}"}

    def names(self) -> list[str]:
        return [c.name for c in self.effects.values()]

    def by_name(self, name: str) -> list[Command]:
        return [c for c in self.effects.values() if c.name == name]

    def movements(self) -> list[tuple[str, str, str]]:
        return [(c.payload["movement"], c.payload["storage_location"], c.payload["quantity"]["value"])
                for c in self.effects.values() if c.name == "post_goods_movement"]
