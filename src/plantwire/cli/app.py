"""The typer application: wires the command groups together."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from plantwire.cli import ops
from plantwire.cli.common import DataDir, console, fail
from plantwire.cli.edge import edge
from plantwire.cli.sim import sim

ErpUrl = Annotated[str | None, typer.Option("--erp", help="Base URL of the ERP (turns on the flows).")]
MesUrl = Annotated[str | None, typer.Option("--mes", help="Base URL of the MES.")]
WmsUrl = Annotated[str | None, typer.Option("--wms", help="Base URL of the WMS.")]
SupplierUrl = Annotated[str | None, typer.Option("--supplier", help="Base URL of the supplier portal.")]


def _systems(erp: str | None, mes: str | None, wms: str | None, supplier: str | None) -> dict[str, str]:
    return {k: v for k, v in {"erp": erp, "mes": mes, "wms": wms, "supplier": supplier}.items() if v}


app = typer.Typer(help="Plantwire: durable business events between MES, WMS, ERP and suppliers.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
schema = typer.Typer(help="Export and check the event contracts' JSON Schemas.", no_args_is_help=True)
app.add_typer(ops.events, name="events")
app.add_typer(ops.dlq, name="dlq")
app.add_typer(ops.keys, name="keys")
app.add_typer(ops.exceptions, name="exceptions")
app.add_typer(schema, name="schema")
app.add_typer(sim, name="sim")
app.add_typer(edge, name="edge")
app.command("replay")(ops.replay)
app.command("status")(ops.status)


@app.command()
def serve(data_dir: DataDir,
          host: Annotated[str, typer.Option()] = "127.0.0.1",
          port: Annotated[int, typer.Option()] = 8080,
          max_batch: Annotated[int, typer.Option(help="Most events in one batch request.")] = 1000,
          max_body_mb: Annotated[int, typer.Option(help="Largest request body, MiB.")] = 16,
          no_worker: Annotated[bool, typer.Option("--no-worker",
                                                  help="Only ingest; run `plantwire worker` apart.")] = False,
          erp: ErpUrl = None, mes: MesUrl = None, wms: WmsUrl = None, supplier: SupplierUrl = None,
          ) -> None:
    """Start the hub: HTTP ingest and operator API, with delivery in the same process. With system
    URLs, it also polls those systems for events and runs the value-stream flows against them."""
    import uvicorn

    from plantwire.api.app import create_app
    from plantwire.bootstrap import Settings, bootstrap
    from plantwire.logs import configure_logging

    configure_logging()
    systems = _systems(erp, mes, wms, supplier)
    hub = bootstrap(Settings(data_dir=data_dir, max_batch=max_batch,
                             max_body_bytes=max_body_mb * 1024 * 1024, systems=systems))
    uvicorn.run(create_app(hub, run_worker=not no_worker), host=host, port=port, loop="uvloop",
                http="httptools", access_log=False, log_level="warning", timeout_graceful_shutdown=5)


@app.command()
def worker(data_dir: DataDir, erp: ErpUrl = None, mes: MesUrl = None, wms: WmsUrl = None,
           supplier: SupplierUrl = None) -> None:
    """Run delivery (and, with system URLs, the flows and the system feeds) without the API; the
    hub's API may run in another process on the same data directory (`serve --no-worker`)."""
    import asyncio
    import signal

    from plantwire.bootstrap import Settings, bootstrap
    from plantwire.logs import configure_logging

    configure_logging()
    hub = bootstrap(Settings(data_dir=data_dir, systems=_systems(erp, mes, wms, supplier)))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        tasks = [asyncio.create_task(source.run(stop)) for source in hub.sources]
        while not stop.is_set():
            hub.worker.notify()  # entries appended by the API process: look now and then
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    hub.worker.start()
    console.print(f"delivering from {data_dir}; Ctrl-C to stop")
    asyncio.run(run())
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
def demo(events: Annotated[int, typer.Option(help="About how many events to send.")] = 600,
         port: Annotated[int, typer.Option(help="Port for the demo hub (0 picks a free one).")] = 0,
         keep: Annotated[Path | None, typer.Option(help="Keep the hub's data in this directory.")] = None,
         ) -> None:
    """Start a hub, send one plant's day of events through HTTP, and show what became of them."""
    from plantwire.cli.demo import run_demo

    raise typer.Exit(run_demo(events, port, keep))
