"""Hypothesis strategies for the canonical documents the SAP, Oracle Fusion and D365 packs carry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import strategies as st

ids = st.from_regex(r"\A[A-Z1-9][A-Z0-9-]{0,11}\Z")
digits = st.integers(1, 9999).map(str)
units = st.sampled_from(["EA", "KG", "M"])
plants = st.sampled_from(["2000", "PL-9"])  # plants without a declared zone: dates in UTC
amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999"), places=3)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("9999"), places=2)
days = st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31))
offsets = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))])
moments = st.builds(
    lambda d, s, tz: (
        datetime.combine(d, datetime.min.time(), UTC).replace(tzinfo=UTC).astimezone(tz)
        + timedelta(seconds=s)
    ),
    days,
    st.integers(0, 86399),
    offsets,
)
short_text = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9 ]{0,15}[A-Za-z0-9]\Z")


def qty(positive: bool = True) -> st.SearchStrategy[dict[str, str]]:
    return st.builds(lambda v, u: {"value": str(v), "uom": u}, amounts, units)


def unique_lines(element: st.SearchStrategy[dict], max_size: int = 4) -> st.SearchStrategy[list[dict]]:
    return st.lists(element, min_size=1, max_size=max_size).map(
        lambda xs: [{**x, "line": 10 * (i + 1)} for i, x in enumerate(xs)]
    )


def production_order(op: st.SearchStrategy[str | None]) -> st.SearchStrategy[dict]:
    component = st.fixed_dictionaries(
        {"item_id": ids, "quantity": qty(), "storage_location": st.none() | ids, "operation": op}
    )
    return st.builds(
        lambda oid, plant, item, q, start, hours, due, wc, comps: {
            "order_id": oid,
            "plant": plant,
            "item_id": item,
            "quantity": q,
            "scheduled_start": start,
            "scheduled_end": start + timedelta(hours=hours),
            "due_date": due,
            "work_center": wc,
            "components": comps,
        },
        ids,
        plants,
        ids,
        qty(),
        moments,
        st.integers(0, 200),
        st.none() | days,
        st.none() | ids,
        unique_lines(component, 3) | st.just([]),
    )


def purchase_order(extra: dict | None = None) -> st.SearchStrategy[dict]:
    line = st.fixed_dictionaries(
        {"item_id": ids, "quantity": qty(), "delivery_date": days, "unit_price": st.none() | prices}
    )
    return st.builds(
        lambda po, rev, plant, sup, cur, lines, at: {
            "po_number": po,
            "revision": rev,
            "plant": plant,
            "supplier_id": sup,
            "currency": cur,
            "lines": lines,
            **({"approved_at": at} if extra is not None else {}),
        },
        ids,
        st.integers(0, 99),
        plants,
        ids,
        st.sampled_from(["EUR", "USD"]),
        unique_lines(line),
        moments,
    )


def movement(allowed: list[str], text: st.SearchStrategy[str | None]) -> st.SearchStrategy[dict]:
    def build(
        mv: str,
        plant: str,
        item: str,
        q: dict,
        loc: str,
        to: str,
        lot: str | None,
        ref: str,
        line: int,
        note: str | None,
    ) -> dict:
        cmd = {
            "movement": mv,
            "plant": plant,
            "item_id": item,
            "quantity": q,
            "storage_location": loc,
            "lot": lot,
            "text": note,
        }
        if mv in ("goods_issue_to_order", "goods_receipt_from_order"):
            cmd["order_id"] = ref
        if mv == "goods_receipt_for_po":
            cmd["po_number"], cmd["po_line"] = ref, line
        if mv == "transfer":
            cmd["to_location"] = to
        return cmd

    return st.builds(
        build,
        st.sampled_from(allowed),
        plants,
        ids,
        qty(),
        ids,
        ids,
        st.none() | st.from_regex(r"\A[A-Z0-9]{1,10}\Z"),
        ids,
        st.integers(1, 999),
        text,
    )
