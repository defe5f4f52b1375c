"""An SAP-like ERP: materials, plants, production orders, purchase orders, goods movements, stock
and accounting documents, in SAP's own field names (MATNR, WERKS, AUFNR, EBELN, BWART, MBLNR...).

This module holds the tables, the seeded master data, the event envelope and the app factory;
erp_docs.py posts material and accounting documents, erp_orders.py keeps orders and POs,
erp_routes.py maps them to HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI

from plantwire.simulators.common import Sim, SimError, build_app, to_decimal
from plantwire.simulators.store import EventRow

SCHEMA = """
CREATE TABLE IF NOT EXISTS mara (matnr TEXT PRIMARY KEY, maktx TEXT NOT NULL, meins TEXT NOT NULL,
  mtart TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS t001w (werks TEXT PRIMARY KEY, name1 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stock (matnr TEXT NOT NULL, werks TEXT NOT NULL, lgort TEXT NOT NULL,
  charg TEXT NOT NULL, labst TEXT NOT NULL, speme TEXT NOT NULL, insme TEXT NOT NULL,
  PRIMARY KEY (matnr, werks, lgort, charg));
CREATE TABLE IF NOT EXISTS aufk (aufnr TEXT PRIMARY KEY, matnr TEXT NOT NULL, werks TEXT NOT NULL,
  gamng TEXT NOT NULL, gmein TEXT NOT NULL, gstrp TEXT NOT NULL, gltrp TEXT NOT NULL,
  lgort TEXT NOT NULL, status TEXT NOT NULL, wemng TEXT NOT NULL, igmng TEXT NOT NULL,
  iasmg TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS resb (aufnr TEXT NOT NULL, rspos INTEGER NOT NULL, matnr TEXT NOT NULL,
  bdmng TEXT NOT NULL, meins TEXT NOT NULL, lgort TEXT NOT NULL, enmng TEXT NOT NULL,
  PRIMARY KEY (aufnr, rspos));
CREATE TABLE IF NOT EXISTS afru (rueck TEXT PRIMARY KEY, aufnr TEXT NOT NULL, lmnga TEXT NOT NULL,
  xmnga TEXT NOT NULL, meinh TEXT NOT NULL, aueru TEXT NOT NULL, budat TEXT NOT NULL,
  created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS ekko (ebeln TEXT PRIMARY KEY, lifnr TEXT NOT NULL, werks TEXT NOT NULL,
  bsart TEXT NOT NULL, waers TEXT NOT NULL, bedat TEXT NOT NULL, status TEXT NOT NULL,
  revision INTEGER NOT NULL, acc_fail INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS ekpo (ebeln TEXT NOT NULL, ebelp INTEGER NOT NULL, matnr TEXT NOT NULL,
  menge TEXT NOT NULL, meins TEXT NOT NULL, netpr TEXT NOT NULL, eindt TEXT NOT NULL,
  lgort TEXT NOT NULL, wemng TEXT NOT NULL, conf TEXT NOT NULL, PRIMARY KEY (ebeln, ebelp));
CREATE TABLE IF NOT EXISTS mkpf (mblnr TEXT NOT NULL, mjahr TEXT NOT NULL, budat TEXT NOT NULL,
  ref_doc_no TEXT, header_txt TEXT, reversal_of TEXT, reversed_by TEXT, created REAL NOT NULL,
  PRIMARY KEY (mblnr, mjahr));
CREATE INDEX IF NOT EXISTS mkpf_ref ON mkpf (ref_doc_no);
CREATE TABLE IF NOT EXISTS mseg (mblnr TEXT NOT NULL, mjahr TEXT NOT NULL, zeile INTEGER NOT NULL,
  bwart TEXT NOT NULL, matnr TEXT NOT NULL, werks TEXT NOT NULL, lgort TEXT NOT NULL,
  charg TEXT NOT NULL, erfmg TEXT NOT NULL, erfme TEXT NOT NULL, aufnr TEXT, ebeln TEXT,
  ebelp INTEGER, umlgo TEXT, umcha TEXT, insmk TEXT NOT NULL, PRIMARY KEY (mblnr, mjahr, zeile));
CREATE TABLE IF NOT EXISTS bkpf (belnr TEXT NOT NULL, gjahr TEXT NOT NULL, blart TEXT NOT NULL,
  ref_doc_no TEXT, mblnr TEXT NOT NULL, mjahr TEXT NOT NULL, ebeln TEXT, wrbtr TEXT NOT NULL,
  waers TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (belnr, gjahr));
"""

MATERIALS = [  # MATNR, MAKTX, MEINS, MTART
    ("10000100", "Centrifugal pump CP-100", "ST", "FERT"),
    ("10000200", "Centrifugal pump CP-200", "ST", "FERT"),
    ("10000320", "Ball valve DN20", "ST", "FERT"),
    ("10000340", "Ball valve DN40", "ST", "FERT"),
    ("20000011", "Pump housing A", "ST", "ROH"),
    ("20000027", "Impeller 7 blades", "ST", "ROH"),
    ("20000035", "Seal kit", "ST", "ROH"),
    ("20000042", "Motor 2 kW", "ST", "ROH"),
    ("20000058", "Hex bolt M8", "ST", "ROH"),
    ("30000001", "PA6 resin", "KG", "ROH"),
    ("30000002", "Copper cable 2.5 mm2", "M", "ROH"),
]
BOMS: dict[str, list[tuple[str, str]]] = {  # header MATNR -> (component MATNR, quantity per piece)
    "10000100": [("20000011", "1"), ("20000027", "1"), ("20000058", "8")],
    "10000200": [("20000011", "1"), ("20000042", "1"), ("20000035", "1")],
    "10000320": [("20000035", "1"), ("30000001", "0.250")],
    "10000340": [("20000035", "2"), ("30000002", "1.500")],
}
PLANTS = [("1000", "Plant Hamburg"), ("2000", "Plant Lyon")]
RM_SLOC, FG_SLOC = "RM01", "FG01"


def erp_error(status: int, msg_class: str, number: str, message: str) -> SimError:
    """A business error in BAPI style: a RETURN table with one message of type E."""
    return SimError(
        status, {"RETURN": [{"TYPE": "E", "ID": msg_class, "NUMBER": number, "MESSAGE": message}]}
    )


def q3(value: Decimal | str) -> str:
    """A quantity as SAP shows it: three decimals."""
    return f"{Decimal(value):.3f}"


def quantity(value: Any, field: str) -> Decimal:
    """A positive quantity from a request, or an M7 error naming the field."""
    found = to_decimal(value)
    if found is None or found <= 0:
        raise erp_error(400, "M7", "017", f"Enter a positive quantity in {field} (got {value!r})")
    return found


def text(body: dict[str, Any], field: str, required: bool = True, default: str = "") -> str:
    """A string field of a request (numbers are accepted as their text)."""
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise erp_error(400, "BAPI", "001", f"Field {field} is required")
        return default
    if not isinstance(value, str | int):
        raise erp_error(400, "BAPI", "002", f"Field {field} must be text")
    return str(value)


def sap_date(value: Any, field: str, default: str) -> str:
    """A date as YYYY-MM-DD (also accepts SAP's YYYYMMDD)."""
    if value in (None, ""):
        return default
    raw = str(value)
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(raw, fmt).date().isoformat()
        except ValueError:
            continue
    raise erp_error(400, "BAPI", "003", f"{field} {raw!r} is not a date (YYYY-MM-DD)")


def today() -> str:
    """Today's date, UTC, ISO."""
    return datetime.now(UTC).date().isoformat()


class Erp:
    """The ERP's state: its Sim plus master-data lookups."""

    def __init__(self, data_dir: Path) -> None:
        self.sim = Sim("erp", data_dir, SCHEMA, envelope)
        self.store = self.sim.store
        self.replayed: dict[str, int] = {"material_documents": 0, "accounting_documents": 0}
        """Since start: postings answered with the document their reference already names (a client
        sent the same key again), and reference lookups that found one; shown by /admin/counts."""
        with self.store.tx():
            self.store.conn.executemany("INSERT OR IGNORE INTO mara VALUES (?, ?, ?, ?)", MATERIALS)
            self.store.conn.executemany("INSERT OR IGNORE INTO t001w VALUES (?, ?)", PLANTS)

    def material(self, matnr: str, werks: str | None = None) -> dict[str, Any]:
        """MARA row of a material, or M3 305 (and plant check when WERKS is given)."""
        found = self.store.row("SELECT * FROM mara WHERE matnr = ?", (matnr,))
        if found is None:
            raise erp_error(
                400,
                "M3",
                "305",
                f"Material {matnr} is not maintained" + (f" in plant {werks}" if werks else ""),
            )
        if werks is not None:
            self.plant(werks)
        return found

    def plant(self, werks: str) -> None:
        """Refuse an unknown plant (M7 018)."""
        if self.store.row("SELECT 1 FROM t001w WHERE werks = ?", (werks,)) is None:
            raise erp_error(400, "M7", "018", f"Plant {werks} does not exist")


def envelope(event: EventRow) -> dict[str, Any]:
    """An ERP event as pushed and polled: SAP business object type, event name, object key."""
    objtype, _, name = event.type.partition(".")
    stamp = datetime.fromtimestamp(event.ts, UTC).strftime("%Y%m%d%H%M%S")
    return {
        "seq": event.seq,
        "EVENT_ID": f"{event.seq:016d}",
        "OBJTYPE": objtype,
        "EVENT": name,
        "OBJKEY": event.key,
        "TIMESTAMP": stamp,
        "DATA": event.data,
    }


def create_app(data_dir: Path) -> FastAPI:
    """The ERP simulator's ASGI app on a data directory."""
    from plantwire.simulators.erp_routes import admin_routes, api_routes, counts

    erp = Erp(data_dir)
    router = APIRouter()
    router.include_router(api_routes(erp))
    router.include_router(admin_routes(erp))
    return build_app(erp.sim, router, lambda: counts(erp), "ERP simulator (SAP-like)")
