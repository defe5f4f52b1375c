"""The typer application: wires the command groups together."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.markup import escape

from plantwire.cli import mapping as mapping_cli
from plantwire.cli import ops, storage
from plantwire.cli.common import DataDir, console, fail
from plantwire.cli.connect import connect
from plantwire.cli.edge import edge
from plantwire.cli.sim import sim
from plantwire.cli.supervise import WorkerProcess

if TYPE_CHECKING:
    from plantwire.bootstrap import Hub, Settings
    from plantwire.bus.keys import PartitionLeases
    from plantwire.flows.api import Flow
    from plantwire.service.worker import DeliveryWorker

ErpUrl = Annotated[str | None, typer.Option(
    "--erp", help="Base URL of the ERP (turns on the flows), or `tryton` for the connection saved by "
    "`plantwire connect tryton`.")]
MesUrl = Annotated[str | None, typer.Option("--mes", help="Base URL of the MES.")]
WmsUrl = Annotated[str | None, typer.Option("--wms", help="Base URL of the WMS.")]
SupplierUrl = Annotated[str | None, typer.Option("--supplier", help="Base URL of the supplier portal.")]
FlowNames = Annotated[str | None, typer.Option(
    "--flows", help="Run only these flows (comma-separated names, e.g. `receipt,transfer`), for a hub "
    "connected to only some systems; default: every value-stream flow once a system URL is given.")]


def _systems(erp: str | None, mes: str | None, wms: str | None, supplier: str | None,
             data_dir: Path | None = None) -> dict[str, str]:
    if erp == "tryton" and data_dir is not None:  # the connection `plantwire connect tryton` saved
        erp = f"tryton:{data_dir / 'connections' / 'tryton.json'}"
    return {k: v for k, v in {"erp": erp, "mes": mes, "wms": wms, "supplier": supplier}.items() if v}


def _chosen_flows(settings: Settings, names: str | None) -> list[Flow] | None:
    """The flows `--flows` names (None: bootstrap's default), or fail naming the known ones."""
    if names is None:
        return None
    from plantwire.bootstrap import value_stream_flows

    known = {flow.name: flow for flow in value_stream_flows(settings)}
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in known]
    if unknown:
        fail(f"unknown flow(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [known[n] for n in chosen]


def _flows_follow_the_leader(hub: Hub) -> bool:
    """On the bus, only the leader (partition 0's holder) sends flow commands and fires timers, so
    several workers do not all send each command (see flows.pumps). Belongs in bootstrap's bus wiring."""
    from plantwire.bus.keys import LeaseLost

    leases = _bus_leases(hub)
    if leases is None:
        return False

    def leads() -> bool:
        """Holds partition 0 by the lease row, not only by memory: a leader whose renewals failed
        (PostgreSQL restarting) may have been succeeded without knowing it."""
        if not leases.leader:
            return False
        try:
            with hub.state.transaction() as tx:
                leases.check(tx, 0)
        except LeaseLost:
            return False
        return True
    hub.relay.lead = hub.timers.lead = leads
    return True


def _bus_leases(hub: Hub) -> PartitionLeases | None:
    """The partition leases of a hub that delivers through the bus; None for in-process delivery."""
    from plantwire.bus.consumer import BusDispatcher

    return hub.dispatcher.leases if isinstance(hub.dispatcher, BusDispatcher) else None


def _leader(hub: Hub) -> Callable[[], bool] | None:
    """On the bus, whether this process leads now (holds partition 0, by its memory: enough for
    polling feeds, where an overlap is harmless); None when it is alone."""
    leases = _bus_leases(hub)
    return None if leases is None else (lambda: bool(leases.leader))


def _flows_apart(hub: Hub) -> DeliveryWorker | None:
    """On the bus, the flows' command relay and timers in a loop of their own: a target call that
    hangs until its timeout must not hold up the leader's journal relay and so every worker."""
    from plantwire.service.worker import DeliveryWorker

    if not hub.engine.latest or not _flows_follow_the_leader(hub):
        return None
    hub.worker.steppers = [s for s in hub.worker.steppers if s is not hub.relay and s is not hub.timers]
    return DeliveryWorker([hub.relay, hub.timers], hub.settings.poll_interval)


def _started(build: Callable[[], Hub]) -> Hub:
    """The hub `build` makes, or exit 1 with the reason when its storage or settings are wrong
    (a schema newer than this code, or one that needs `plantwire db upgrade`): no traceback."""
    from plantwire.errors import ConfigurationError

    try:
        return build()
    except ConfigurationError as exc:
        fail(str(exc))
        raise


app = typer.Typer(help="Plantwire: durable business events between MES, WMS, ERP and suppliers.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
Backend = Annotated[str, typer.Option(
    "--backend", envvar="PLANTWIRE_BACKEND",
    help="Storage: 'sqlite' (files in --data-dir) or a postgresql://user@host/db[?schema=name] URL.")]
Bus = Annotated[str, typer.Option(
    "--bus", envvar="PLANTWIRE_BUS",
    help="Delivery: 'local' (in-process) or a nats://host:4222[?prefix=pw&partitions=8] JetStream URL.")]
schema = typer.Typer(help="Export and check the event contracts' JSON Schemas.", no_args_is_help=True)
app.add_typer(ops.events, name="events")
app.add_typer(ops.dlq, name="dlq")
app.add_typer(ops.keys, name="keys")
app.add_typer(ops.exceptions, name="exceptions")
app.add_typer(connect, name="connect")
for _name in ("xref", "uom", "valuemap", "dq", "owners"):
    app.add_typer(getattr(mapping_cli, _name), name=_name)
app.add_typer(schema, name="schema")
app.add_typer(sim, name="sim")
app.add_typer(edge, name="edge")
app.add_typer(storage.db, name="db")
app.command("backup")(storage.backup)
app.command("restore")(storage.restore)
app.command("replay")(ops.replay)
app.command("status")(ops.status)


@app.command()
def serve(data_dir: DataDir,
          host: Annotated[str, typer.Option()] = "127.0.0.1",
          port: Annotated[int, typer.Option()] = 8080,
          max_batch: Annotated[int, typer.Option(help="Most events in one batch request.")] = 1000,
          max_body_mb: Annotated[int, typer.Option(help="Largest POST /v1/events body, MiB.")] = 16,
          max_operator_body_mb: Annotated[int, typer.Option(
              min=1, help="Largest body of every other route (e.g. an xref import), MiB.")] = 4,
          no_worker: Annotated[bool, typer.Option("--no-worker",
                                                  help="Only ingest; run `plantwire worker` apart.")] = False,
          worker_process: Annotated[bool, typer.Option(
              "--worker-process", help="Deliver in a child `plantwire worker` process (its own core "
              "and GIL; it dies with this one) instead of a thread of this process.")] = False,
          erp: ErpUrl = None, mes: MesUrl = None, wms: WmsUrl = None, supplier: SupplierUrl = None,
          backend: Backend = "sqlite", bus: Bus = "local",
          ingest_processes: Annotated[int, typer.Option(
              "--ingest-processes", min=1, max=64, help="Processes that take HTTP requests on the port "
              "(SO_REUSEPORT), each on its own core; with more than one, delivery runs in a child "
              "worker process.")] = 1,
          ingest_only: Annotated[bool, typer.Option("--ingest-only", hidden=True)] = False,
          ) -> None:
    """Start the hub: HTTP ingest and operator API, with delivery in the same process (or a child
    worker process). With system URLs, it also polls those systems for events and runs the
    value-stream flows against them."""
    from plantwire.api.app import create_app
    from plantwire.bootstrap import Settings, bootstrap
    from plantwire.cli.serving import run_http
    from plantwire.logs import configure_logging

    configure_logging()
    systems = _systems(erp, mes, wms, supplier, data_dir)
    hub = _started(lambda: bootstrap(Settings(
        data_dir=data_dir, backend=backend, bus=bus, max_batch=max_batch,
        max_body_bytes=max_body_mb * 1024 * 1024, max_operator_body_bytes=max_operator_body_mb * 1024 * 1024,
        systems=systems)))
    _flows_follow_the_leader(hub)
    common = ["--data-dir", str(data_dir), "--backend", backend, "--bus", bus]
    children = [WorkerProcess([*common, "--host", host, "--port", str(port), "--max-batch", str(max_batch),
                               "--max-body-mb", str(max_body_mb), "--max-operator-body-mb",
                               str(max_operator_body_mb), "--ingest-only"], command="serve")
                for _ in range(ingest_processes - 1)]
    if not no_worker and not ingest_only and (worker_process or ingest_processes > 1):
        children.append(WorkerProcess([*common, *(a for role, url in systems.items()
                                                  for a in (f"--{role}", url))]))
    worker_child = any(child.command == "worker" for child in children)
    for child in children:
        child.start()
    try:
        run_http(create_app(hub, run_worker=not (no_worker or ingest_only or worker_child),
                            run_sources=not (ingest_only or worker_child)),
                 host, port, shared=ingest_processes > 1 or ingest_only)
    except KeyboardInterrupt:  # uvicorn shut down gracefully on Ctrl-C / SIGINT, then re-raised it
        pass
    finally:
        for child in children:
            child.stop()


@app.command()
def worker(data_dir: DataDir, erp: ErpUrl = None, mes: MesUrl = None, wms: WmsUrl = None,
           supplier: SupplierUrl = None, backend: Backend = "sqlite", bus: Bus = "local",
           flows: FlowNames = None) -> None:
    """Run delivery (and, with system URLs, the flows and the system feeds) without the API; the
    hub's API may run in another process on the same data directory (`serve --no-worker`)."""
    import asyncio
    import gc
    import signal

    from plantwire.bootstrap import Settings, bootstrap
    from plantwire.cli.serving import while_leading
    from plantwire.errors import StorageUnavailable
    from plantwire.logs import configure_logging

    configure_logging()
    settings = Settings(data_dir=data_dir, backend=backend, bus=bus,
                        systems=_systems(erp, mes, wms, supplier, data_dir))
    hub = _started(lambda: bootstrap(settings, flows=_chosen_flows(settings, flows)))
    flow_loop = _flows_apart(hub)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        lead = _leader(hub)
        tasks = [asyncio.create_task(source.run(stop) if lead is None
                                     else while_leading(source.run, lead, stop)) for source in hub.sources]
        seen = -1
        while not stop.is_set():
            try:
                head = await asyncio.to_thread(hub.journal.head)
            except StorageUnavailable:  # PostgreSQL restarting: the delivery loop backs off by itself
                head = -2
            if head != seen:  # the API process appended: deliver now (retries poll on their own)
                seen = head
                hub.worker.notify()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.02)
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    gc.freeze()  # start-up objects live as long as the process: no collection need look at them
    gc.set_threshold(20_000, 20, 50)  # a delivery batch allocates thousands of short-lived objects
    hub.worker.start()
    if flow_loop is not None:
        flow_loop.start()
    console.print(f"delivering from {data_dir}; Ctrl-C to stop")
    asyncio.run(run())
    if flow_loop is not None:
        flow_loop.stop()
    hub.close()


@schema.command("export")
def schema_export(directory: Path) -> None:
    """Write one JSON Schema file per contract and version into DIRECTORY."""
    from plantwire.domain.catalog import CATALOG

    directory.mkdir(parents=True, exist_ok=True)
    exported = CATALOG.export()
    for name, doc in exported.items():
        (directory / name).write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    console.print(f"wrote {len(exported)} contract schemas to {directory}")


@schema.command("check")
def schema_check(old_dir: Path) -> None:
    """Fail when the current contracts are not backward compatible with those in OLD_DIR."""
    from plantwire.domain.catalog import CATALOG
    from plantwire.domain.compat import check_compatible

    if not old_dir.is_dir():
        fail(f"{old_dir} is not a directory of exported schemas")
    old = {}
    for path in sorted(old_dir.glob("*.json")):
        try:
            old[path.name] = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            fail(f"{path}: not valid JSON ({exc})")
    problems = check_compatible(old, CATALOG.export())
    for p in problems:  # escaped: rich would take "[field-removed]" for a style tag and drop it
        console.print(f"[red]incompatible[/] {escape(f'{p.contract} {p.path} [{p.rule}]: {p.message}')}")
    if problems:
        fail(f"{len(problems)} backward-incompatible change(s) against {old_dir}")
    console.print(f"compatible: {len(old)} contract schema(s) in {old_dir} still accepted")


@app.command()
def demo(events: Annotated[int, typer.Option(help="--hub-only: about how many events to send.")] = 600,
         orders: Annotated[int, typer.Option(help="Production orders in the plant's day.")] = 40,
         port: Annotated[int, typer.Option(help="Port for the demo hub (0 picks a free one).")] = 0,
         keep: Annotated[Path | None, typer.Option(help="Keep the data in this directory.")] = None,
         hub_only: Annotated[bool, typer.Option("--hub-only", help="The hub alone, no simulators.")] = False,
         ) -> None:
    """Start the four simulators and a hub, run a plant's day with faults, and prove nothing was lost
    or posted twice (`--hub-only`: a hub alone and a day of events over HTTP)."""
    from plantwire.cli.demo import run_demo

    raise typer.Exit(run_demo(events, port, keep, hub_only=hub_only, orders=orders))
