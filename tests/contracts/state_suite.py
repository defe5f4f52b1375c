"""The state store contract: one abstract suite that every StateStore backend must pass.

Subclass `StateContract` in a `test_state_<backend>.py` module and override `make_state`.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from plantwire.ports import StateStore

SEP = "\x1f"


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


class StateContract:
    """JSON values by (namespace, key), exact Decimal counters, ordered scans, atomic commits."""

    def make_state(self, tmp_path: Path) -> StateStore:
        """A fresh store; the same tmp_path must reopen the same store if it is durable."""
        raise NotImplementedError

    @pytest.fixture
    def state(self, tmp_path: Path) -> Iterator[StateStore]:
        store = self.make_state(tmp_path)
        yield store
        store.close()

    def read(self, state: StateStore, ns: str, key: str) -> Any:
        with state.transaction() as tx:
            return tx.get(ns, key)

    # -- get / put / delete ----------------------------------------------------------------

    def test_missing_key_is_none(self, state: StateStore) -> None:
        with state.transaction() as tx:
            assert tx.get("ns", "nope") is None
            assert tx.scan("ns") == []

    def test_put_get_round_trips_json_values(self, state: StateStore) -> None:
        values: dict[str, Any] = {
            "str": "ümlaut ✓", "int": 42, "big": 10**15, "bool": True, "list": [1, "two", None],
            "obj": {"a": {"b": [1, 2]}, "c": False}, "float": 1.5, "empty": {},
        }
        with state.transaction() as tx:
            for key, value in values.items():
                tx.put("ns", key, value)
        with state.transaction() as tx:
            for key, value in values.items():
                assert tx.get("ns", key) == value

    def test_put_overwrites_and_delete_removes(self, state: StateStore) -> None:
        with state.transaction() as tx:
            tx.put("ns", "k", {"v": 1})
            tx.put("ns", "k", {"v": 2})
        assert self.read(state, "ns", "k") == {"v": 2}
        with state.transaction() as tx:
            tx.delete("ns", "k")
            tx.delete("ns", "never-there")  # deleting a missing key is not an error
        assert self.read(state, "ns", "k") is None

    def test_namespaces_are_separate(self, state: StateStore) -> None:
        with state.transaction() as tx:
            tx.put("a", "k", 1)
            tx.put("b", "k", 2)
            tx.put("ab", "k", 3)
        with state.transaction() as tx:
            assert (tx.get("a", "k"), tx.get("b", "k"), tx.get("ab", "k")) == (1, 2, 3)
            assert tx.scan("a") == [("k", 1)]
            tx.delete("a", "k")
        assert self.read(state, "b", "k") == 2 and self.read(state, "a", "k") is None

    def test_values_read_are_copies(self, state: StateStore) -> None:
        with state.transaction() as tx:
            tx.put("ns", "k", {"list": [1]})
        with state.transaction() as tx:
            value = tx.get("ns", "k")
            value["list"].append(2)
            value["new"] = True
        assert self.read(state, "ns", "k") == {"list": [1]}

    def test_decimals_in_values_are_kept_exact(self, state: StateStore) -> None:
        with state.transaction() as tx:
            tx.put("ns", "k", {"qty": Decimal("0.1000000000000000000001")})
        assert self.read(state, "ns", "k") == {"qty": "0.1000000000000000000001"}

    # -- add -------------------------------------------------------------------------------

    def test_add_counts_missing_as_zero_and_is_exact(self, state: StateStore) -> None:
        with state.transaction() as tx:
            assert tx.add("n", "k", Decimal("0.1")) == Decimal("0.1")
            assert tx.add("n", "k", Decimal("0.2")) == Decimal("0.3")  # not 0.30000000000000004
            assert tx.add("n", "i", 5) == Decimal(5)
            assert isinstance(tx.add("n", "i", -7), Decimal)
        with state.transaction() as tx:
            assert Decimal(str(tx.get("n", "k"))) == Decimal("0.3")
            assert Decimal(str(tx.get("n", "i"))) == Decimal(-2)
            for _ in range(10):
                tx.add("n", "k", Decimal("0.1"))
            assert tx.add("n", "k", 0) == Decimal("1.3")
            big = tx.add("n", "big", Decimal("123456789012345678.123456789012345678"))
            assert big == Decimal("123456789012345678.123456789012345678")

    def test_add_on_a_put_number(self, state: StateStore) -> None:
        with state.transaction() as tx:
            tx.put("n", "k", 7)
            tx.put("n", "s", "2.50")
        with state.transaction() as tx:
            assert tx.add("n", "k", 1) == Decimal(8)
            assert tx.add("n", "s", Decimal("0.25")) == Decimal("2.75")

    # -- scan ------------------------------------------------------------------------------

    def _fill(self, state: StateStore, keys: list[str]) -> None:
        with state.transaction() as tx:
            for key in keys:
                tx.put("s", key, key.upper())

    def test_scan_is_in_key_order(self, state: StateStore) -> None:
        keys = ["b", "a\x1fz", "ä", "a", "B", "a\x1f", "ab", "000000000000010", "000000000000002"]
        self._fill(state, keys)
        with state.transaction() as tx:
            assert [k for k, _ in tx.scan("s")] == sorted(keys)
            assert tx.scan("s")[0] == ("000000000000002", "000000000000002")

    def test_scan_prefix_after_and_limit(self, state: StateStore) -> None:
        keys = [f"po{SEP}{n:03d}" for n in range(1, 8)] + ["po", "pa", "pp", "q", f"pox{SEP}1"]
        self._fill(state, keys)
        with state.transaction() as tx:
            assert [k for k, _ in tx.scan("s", f"po{SEP}")] == [f"po{SEP}{n:03d}" for n in range(1, 8)]
            assert [k for k, _ in tx.scan("s", f"po{SEP}", limit=2)] == [f"po{SEP}001", f"po{SEP}002"]
            assert [k for k, _ in tx.scan("s", f"po{SEP}", after=f"po{SEP}005")] == [
                f"po{SEP}006", f"po{SEP}007"]
            assert [k for k, _ in tx.scan("s", f"po{SEP}", after=f"po{SEP}002", limit=1)] == [
                f"po{SEP}003"]
            assert [k for k, _ in tx.scan("s", after="po")] == sorted(k for k in keys if k > "po")
            assert tx.scan("s", "zz") == []
            assert tx.scan("s", f"po{SEP}", after=f"po{SEP}007") == []
            assert [v for _, v in tx.scan("s", "p", limit=3)] == [k.upper() for k in sorted(
                k for k in keys if k.startswith("p"))[:3]]

    def test_scan_prefix_is_literal(self, state: StateStore) -> None:
        self._fill(state, ["a_1", "ab1", "a%1", "a%x", "A_1"])
        with state.transaction() as tx:
            assert [k for k, _ in tx.scan("s", "a_")] == ["a_1"]
            assert [k for k, _ in tx.scan("s", "a%")] == ["a%1", "a%x"]

    def test_scan_sees_the_transactions_own_writes(self, state: StateStore) -> None:
        self._fill(state, ["k1", "k2", "k3"])
        with state.transaction() as tx:
            tx.delete("s", "k2")
            tx.put("s", "k0", "new")
            tx.put("s", "k3", "changed")
            assert tx.scan("s", "k") == [("k0", "new"), ("k1", "K1"), ("k3", "changed")]
            assert tx.scan("s", "k", after="k0", limit=1) == [("k1", "K1")]

    # -- transactions ----------------------------------------------------------------------

    def test_reads_inside_a_transaction_see_its_writes(self, state: StateStore) -> None:
        with state.transaction() as tx:
            tx.put("ns", "k", {"v": 1})
            assert tx.get("ns", "k") == {"v": 1}
            tx.add("ns", "n", 3)
            assert Decimal(str(tx.get("ns", "n"))) == 3
            tx.delete("ns", "k")
            assert tx.get("ns", "k") is None

    def test_a_transaction_that_raises_rolls_back_every_write(self, state: StateStore) -> None:
        with state.transaction() as tx:
            tx.put("ns", "keep", "old")
            tx.put("ns", "gone", "still here")
            tx.add("ns", "n", 10)
        with pytest.raises(Boom), state.transaction() as tx:
            tx.put("ns", "keep", "new")
            tx.put("ns", "fresh", 1)
            tx.delete("ns", "gone")
            tx.add("ns", "n", 5)
            tx.put("other", "x", 1)
            raise Boom
        with state.transaction() as tx:
            assert tx.get("ns", "keep") == "old"
            assert tx.get("ns", "fresh") is None
            assert tx.get("ns", "gone") == "still here"
            assert tx.add("ns", "n", 0) == Decimal(10)
            assert tx.scan("other") == []

    def test_commit_is_visible_to_the_next_transaction(self, state: StateStore) -> None:
        for i in range(1, 4):
            with state.transaction() as tx:
                tx.add("ns", "n", 1)
                tx.put("ns", f"k{i}", i)
            with state.transaction() as tx:
                assert tx.add("ns", "n", 0) == Decimal(i)
                assert [k for k, _ in tx.scan("ns", "k")] == [f"k{j}" for j in range(1, i + 1)]

    def test_store_is_usable_after_a_rollback(self, state: StateStore) -> None:
        for _ in range(3):
            with pytest.raises(Boom), state.transaction() as tx:
                tx.put("ns", "k", "x")
                raise Boom
        with state.transaction() as tx:
            tx.put("ns", "k", "y")
        assert self.read(state, "ns", "k") == "y"

    # -- durability ------------------------------------------------------------------------

    def test_reopen_keeps_committed_state(self, tmp_path: Path) -> None:
        state = self.make_state(tmp_path)
        with state.transaction() as tx:
            tx.put("ns", "k", {"v": [1, 2]})
            tx.add("ns", "n", Decimal("1.25"))
        with pytest.raises(Boom), state.transaction() as tx:
            tx.put("ns", "rolled-back", True)
            raise Boom
        state.close()
        reopened = self.make_state(tmp_path)
        try:
            with reopened.transaction() as tx:
                assert tx.get("ns", "k") == {"v": [1, 2]}
                assert tx.add("ns", "n", 0) == Decimal("1.25")
                assert tx.get("ns", "rolled-back") is None
        finally:
            reopened.close()

