"""``junheng serve``: the web platform on the demo database, and the demo's accounts stage.

``junheng serve [--port N] [--host H]`` runs Django's threaded server plus one background-job
worker thread on ``JUNHENG_HOME`` (default: the demo's ``demo-output/var``).  It is the
embedded set-up for one machine; a production set-up (gunicorn behind nginx, PostgreSQL,
``manage.py runjobs``) is described in docs/deploy.md.

Safe by default: DEBUG is off unless ``--dev`` is given (a debug page shows tracebacks, settings
and cookies), and the signing key is the installation's own, generated into
``$JUNHENG_HOME/secret_key`` on first start (``junheng_web.settings.installation_secret``).
"""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command()
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="JUNHENG_HOME (default: $JUNHENG_HOME, else demo-output/var)")
@click.option("--no-worker", is_flag=True, help="do not start the background-job thread")
@click.option("--dev", is_flag=True, help="developer mode: Django's debug pages (tracebacks!); never on a shared machine")
def serve(port: int, host: str, home: Path | None, no_worker: bool, dev: bool) -> None:
    """Run the web platform (sign in at /accounts/login/)."""
    os.environ["JUNHENG_DEBUG"] = "1" if dev else "0"  # only an explicit --dev turns debugging on
    os.environ.setdefault("JUNHENG_SECURE", "0")  # Django's server speaks plain HTTP: no HTTPS redirect here
    os.environ.setdefault("JUNHENG_ALLOWED_HOSTS", ",".join(_host_names(host)))
    if home is not None:
        os.environ["JUNHENG_HOME"] = str(home.resolve())
    os.environ.setdefault("JUNHENG_HOME", str(Path("demo-output/var").resolve()))
    # the demo writes its reports beside its database folder: demo-output/reports
    os.environ.setdefault("JUNHENG_REPORTS_DIR", str(Path(os.environ["JUNHENG_HOME"]).parent / "reports"))
    from junheng_web.bootstrap import setup

    setup()
    from django.conf import settings
    from django.core.management import call_command

    vendor = Path(settings.BASE_DIR) / "static" / "vendor" / "echarts" / "echarts.min.js"
    if not vendor.is_file():
        click.echo("警告: 前端资源未安装，请运行 bash scripts/ensure-assets / warning: front-end assets missing "
                   "(run bash scripts/ensure-assets); charts will not show", err=True)
    if not no_worker:
        from junheng_web.jobs.runner import start_thread

        start_thread()
    if dev:
        click.echo("警告: 开发模式（DEBUG），错误页面会显示内部信息，切勿在共享机器上使用 / warning: developer "
                   "mode (DEBUG): error pages show internals; never on a shared machine", err=True)
    click.echo(f"junheng: http://{host}:{port}/accounts/login/  (JUNHENG_HOME={os.environ['JUNHENG_HOME']})")
    call_command("runserver", f"{host}:{port}", use_reloader=False, use_threading=True)


def _host_names(host: str) -> list[str]:
    """The names the server answers to: this machine, plus the listening address, or — listening on
    every address — the machine's name and addresses (set JUNHENG_ALLOWED_HOSTS for any other name)."""
    import socket

    names = ["localhost", "127.0.0.1", "[::1]"]
    if host not in ("0.0.0.0", "::"):
        return names + ([host] if host not in names else [])
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        addresses = set()
    return names + [name] + sorted(f"[{a}]" if ":" in a else a for a in addresses if a not in ("127.0.0.1", "::1"))
