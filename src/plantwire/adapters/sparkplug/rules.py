"""The declared mapping of a Sparkplug B source: which edge nodes and devices carry which rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from plantwire.adapters._rules import RuleSet

NAMESPACE = "spBv1.0"


@dataclass(frozen=True)
class SparkplugMapping:
    """Rules per edge node or device, matched in order on ``group/edge_node`` or
    ``group/edge_node/device`` (shell-style patterns, e.g. ``"Plant1000/Line1/Filler*"``)."""

    groups: Sequence[str] = ("+",)
    rules: Sequence[tuple[str, RuleSet]] = field(default_factory=tuple)
    source_prefix: str = "sparkplug"

    def rules_for(self, group: str, edge_node: str, device: str | None) -> RuleSet:
        """The first rule set whose pattern matches this node or device (none: no rules)."""
        path = f"{group}/{edge_node}" + (f"/{device}" if device else "")
        for pattern, rules in self.rules:
            if fnmatchcase(path, pattern):
                return rules
        return RuleSet()

    def filters(self) -> list[str]:
        """The MQTT topic filters to subscribe to."""
        return [f"{NAMESPACE}/{group}/#" for group in self.groups]
