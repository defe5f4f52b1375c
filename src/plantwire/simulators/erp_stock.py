"""Stock of the ERP simulator (MARD/MCHB-like buckets: unrestricted LABST, blocked SPEME, quality
INSME per material, plant, storage location and batch) and what each movement type does to it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from plantwire.simulators.erp import Erp, erp_error, q3

# movement type -> list of (stock type, sign, which side: "from" or "to")
MOVES: dict[str, list[tuple[str, int, str]]] = {
    "101": [("labst", +1, "from")],
    "102": [("labst", -1, "from")],
    "261": [("labst", -1, "from")],
    "262": [("labst", +1, "from")],
    "311": [("labst", -1, "from"), ("labst", +1, "to")],
    "312": [("labst", +1, "from"), ("labst", -1, "to")],
    "343": [("speme", -1, "from"), ("labst", +1, "from")],
    "344": [("labst", -1, "from"), ("speme", +1, "from")],
    "321": [("insme", -1, "from"), ("labst", +1, "from")],
    "322": [("labst", -1, "from"), ("insme", +1, "from")],
    "561": [("labst", +1, "from")],
    "562": [("labst", -1, "from")],
}
REVERSAL = {
    "101": "102",
    "102": "101",
    "261": "262",
    "262": "261",
    "311": "312",
    "312": "311",
    "343": "344",
    "344": "343",
    "321": "322",
    "322": "321",
    "561": "562",
    "562": "561",
}
DEFICIT = {
    "labst": ("021", "Unrestricted-use"),
    "insme": ("022", "Quality inspection"),
    "speme": ("023", "Blocked stock"),
}
Bucket = tuple[str, str, str, str]  # MATNR, WERKS, LGORT, CHARG


@dataclass
class Item:
    """One validated document item."""

    bwart: str
    matnr: str
    werks: str
    lgort: str
    charg: str
    erfmg: Decimal
    erfme: str
    aufnr: str | None = None
    ebeln: str | None = None
    ebelp: int | None = None
    umlgo: str | None = None
    umcha: str | None = None
    insmk: str = ""

    def deltas(self) -> list[tuple[Bucket, str, Decimal]]:
        """The stock changes of this item: (bucket, stock type, signed quantity)."""
        out = []
        for stock_type, sign, side in MOVES[self.bwart]:
            if stock_type == "labst" and self.insmk == "X" and self.bwart in ("101", "102"):
                stock_type = "insme"
            bucket = (
                (self.matnr, self.werks, self.lgort, self.charg)
                if side == "from"
                else (self.matnr, self.werks, self.umlgo or self.lgort, self.umcha or self.charg)
            )
            out.append((bucket, stock_type, sign * self.erfmg))
        return out


def check_stock(erp: Erp, items: list[Item]) -> None:
    """Refuse the document when any stock bucket would go negative (M7 021/022/023)."""
    totals: dict[tuple[Bucket, str], Decimal] = {}
    for item in items:
        for bucket, stock_type, delta in item.deltas():
            totals[(bucket, stock_type)] = totals.get((bucket, stock_type), Decimal(0)) + delta
    for (bucket, stock_type), delta in totals.items():
        current = bucket_of(erp, bucket)
        after = Decimal(current[stock_type]) + delta
        if after < 0:
            number, name = DEFICIT[stock_type]
            unit = erp.material(bucket[0])["meins"]
            batch = f" {bucket[3]}" if bucket[3] else ""
            raise erp_error(
                400,
                "M7",
                number,
                f"Deficit of SL {name} {q3(-after)} {unit} : {bucket[0]} {bucket[1]} {bucket[2]}{batch}",
            )


def bucket_of(erp: Erp, bucket: Bucket) -> dict[str, str]:
    found = erp.store.row(
        "SELECT labst, speme, insme FROM stock WHERE matnr = ? AND werks = ? AND lgort = ? AND charg = ?",
        bucket,
    )
    return found or {"labst": "0", "speme": "0", "insme": "0"}


def add_stock(erp: Erp, bucket: Bucket, stock_type: str, delta: Decimal) -> None:
    current = bucket_of(erp, bucket)
    current[stock_type] = str(Decimal(current[stock_type]) + delta)
    erp.store.execute(
        "INSERT INTO stock VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
        "labst = excluded.labst, speme = excluded.speme, insme = excluded.insme",
        (*bucket, current["labst"], current["speme"], current["insme"]),
    )
