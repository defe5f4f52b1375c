"""`plantwire connect tryton`: save (and check) the connection to a Tryton ERP.

The password comes from PLANTWIRE_TRYTON_PASSWORD or --password-file, never from the command line,
and is never printed or saved: the saved connection (``<data-dir>/connections/tryton.json``) names
the URL, database, user and where the password comes from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import orjson
import typer

from plantwire.cli.common import DataDir, console, fail

connect = typer.Typer(help="Connect the hub to a real ERP.", no_args_is_help=True)
PASSWORD_ENV = "PLANTWIRE_TRYTON_PASSWORD"


def read_password(password_file: Path | None) -> str:
    """The Tryton password from the file, else the environment."""
    if password_file is not None:
        return password_file.read_text().strip()
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        fail(f"set {PASSWORD_ENV} or pass --password-file")
    return str(password)


@connect.command("tryton")
def tryton(data_dir: DataDir,
           url: Annotated[str, typer.Option(help="Tryton base URL, e.g. http://127.0.0.1:8070")],
           database: Annotated[str, typer.Option(help="Tryton database name.")],
           user: Annotated[str, typer.Option(help="Tryton login of the hub's service user.")],
           password_file: Annotated[Path | None, typer.Option(help="File holding the password.")] = None,
           check: Annotated[bool, typer.Option("--check", help="Log in and report what it sees.")] = False,
           ) -> None:
    """Save the Tryton connection for `serve --erp tryton:` (and with --check, try it first)."""
    from plantwire.adapters.tryton.client import TrytonClient
    from plantwire.errors import PlantwireError

    password = read_password(password_file)
    if check:
        client = TrytonClient(url, database, user, password)
        try:
            ctx = client.login()
            counts = {m: len(client.search_read(m, [], ["id"])) for m in
                      ("product.product", "stock.location", "party.party", "purchase.purchase", "production")}
            console.print(f"logged in to {database} as {user} (company {ctx.get('company')}, "
                          f"server {client.version()})")
            for model, n in counts.items():
                console.print(f"  {model}: {n} visible")
        except PlantwireError as exc:
            fail(f"cannot use Tryton at {url}: {exc}")
        finally:
            client.close()
    saved = {"url": url, "database": database, "user": user,
             "password_file": str(password_file.resolve()) if password_file else None,
             "password_env": None if password_file else PASSWORD_ENV}
    target = data_dir / "connections" / "tryton.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(orjson.dumps(saved, option=orjson.OPT_INDENT_2))
    console.print(f"saved the Tryton connection in {target} (no password stored)")
