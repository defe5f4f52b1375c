"""`plantwire sim`: run one of the system simulators (ERP, MES, WMS, supplier) as an HTTP service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

sim = typer.Typer(
    help="Run a system simulator (ERP, MES, WMS, supplier) for demos and tests.", no_args_is_help=True
)

SimDir = Annotated[Path, typer.Option("--data-dir", "-d", help="Where the simulator keeps its SQLite file.")]
Port = Annotated[int, typer.Option(help="TCP port to listen on.")]
Host = Annotated[str, typer.Option(help="Interface to listen on.")]
SYSTEMS = {"erp": 8101, "mes": 8102, "wms": 8103, "supplier": 8104}


def _factory(system: str) -> Callable[[Path], Any]:
    if system == "erp":
        from plantwire.simulators.erp import create_app as erp_app

        return erp_app
    if system == "mes":
        from plantwire.simulators.mes import create_app as mes_app

        return mes_app
    if system == "wms":
        from plantwire.simulators.wms import create_app as wms_app

        return wms_app
    from plantwire.simulators.supplier import create_app as supplier_app

    return supplier_app


def _serve(system: str, port: int, data_dir: Path, host: str) -> None:
    import uvicorn

    app = _factory(system)(data_dir)
    typer.echo(f"{system} simulator on http://{host}:{port} (data in {data_dir})", err=True)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", timeout_graceful_shutdown=2)


@sim.command()
def erp(
    port: Port = SYSTEMS["erp"], data_dir: SimDir = Path("sim-data/erp"), host: Host = "127.0.0.1"
) -> None:
    """SAP-like ERP: production and purchase orders, goods movements, stock, accounting documents."""
    _serve("erp", port, data_dir, host)


@sim.command()
def mes(
    port: Port = SYSTEMS["mes"], data_dir: SimDir = Path("sim-data/mes"), host: Host = "127.0.0.1"
) -> None:
    """MES: work orders downloaded from the ERP, consumption and production reports."""
    _serve("mes", port, data_dir, host)


@sim.command()
def wms(
    port: Port = SYSTEMS["wms"], data_dir: SimDir = Path("sim-data/wms"), host: Host = "127.0.0.1"
) -> None:
    """WMS: handling units, bins, staging and put-away tasks, receipts, quality holds."""
    _serve("wms", port, data_dir, host)


@sim.command()
def supplier(
    port: Port = SYSTEMS["supplier"], data_dir: SimDir = Path("sim-data/supplier"), host: Host = "127.0.0.1"
) -> None:
    """Supplier portal: receives POs, acknowledges them by rules, sends ASNs and delay notices."""
    _serve("supplier", port, data_dir, host)


@sim.command("all")
def run_all(
    data_dir: SimDir = Path("sim-data"),
    base_port: Annotated[int, typer.Option(help="ERP on this port, MES +1, WMS +2, supplier +3.")] = 8101,
    host: Host = "127.0.0.1",
) -> None:
    """All four simulators, each in its own process, until Ctrl-C."""
    exe = str(Path(sys.executable).parent / "plantwire")
    procs = [
        subprocess.Popen(
            [
                exe,
                "sim",
                name,
                "--port",
                str(base_port + n),
                "--host",
                host,
                "--data-dir",
                str(data_dir / name),
            ],
            env=os.environ.copy(),
        )
        for n, name in enumerate(SYSTEMS)
    ]
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        for proc in procs:
            proc.wait()
    except KeyboardInterrupt:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt
