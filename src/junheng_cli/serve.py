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

DEMO_PASSWORD = "demo"  # the demo database only; production accounts go through the password validators
DEMO_COUNTIES = ("410102", "410103")
# GB/T 2260 codes and names, used only when the registry stage has not put the divisions in the
# database (the registry import upserts by (code, level), so these rows are then simply reused)
_DIVISIONS = [("410000", "province", "河南省", None), ("410100", "city", "郑州市", "410000"),
              ("410102", "county", "中原区", "410100"), ("410103", "county", "二七区", "410100")]


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


def demo_accounts() -> list[tuple[str, str, str]]:
    """Create (or reset) the demo's accounts; returns (username, password, what) rows."""
    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Region

    rows = []
    for code, level, name, parent in _DIVISIONS:
        if not Region.objects.filter(code=code, level=level).exists():
            Region.objects.create(code=code, level=level, name=name,
                                  parent=Region.objects.get(code=parent, level="province" if level == "city" else "city")
                                  if parent else None)

    def account(username, role, what, region=None, school=None):
        user, _ = User.objects.get_or_create(username=username)
        user.role, user.region, user.school, user.is_active = role, region, school, True
        user.set_password(DEMO_PASSWORD)  # deliberately not validated: demo database only
        user.save()
        rows.append((username, DEMO_PASSWORD, what))

    account("province", User.Role.PROVINCE_ADMIN, "省级管理员 / province admin")
    account("analyst", User.Role.PROVINCE_ANALYST, "省级分析员 / province analyst")
    account("reviewer", User.Role.REVIEWER, "视频巡查员（全省）/ video reviewer for the province",
            region=Region.objects.get(code="410000", level=Region.Level.PROVINCE))
    for code in DEMO_COUNTIES:
        county = Region.objects.filter(code=code, level=Region.Level.COUNTY).first()
        if county is None:
            click.echo(f"   (区县 {code} 不在名册中，跳过 / county {code} not in the registry; skipped)")
            continue
        account(f"county-{code}", User.Role.COUNTY, f"县级用户 / county {county.name}", region=county)
        school = _demo_school(county)
        if school is None:
            click.echo(f"   ({county.name} 没有学校，跳过学校操作员 / no school in {code}; no school operator)")
            continue
        account(f"school-{school.code}", User.Role.SCHOOL, f"学校操作员 / school operator, {school.name}",
                school=school)
        if county.parent_id and not User.objects.filter(username=f"city-{county.parent.code}").exists():
            account(f"city-{county.parent.code}", User.Role.CITY, f"市级用户 / city {county.parent.name}",
                    region=county.parent)
    return rows


def _demo_school(county):
    """A school of the county, preferring one in the demo cycle's sample."""
    from junheng_web.registry.models import School
    from junheng_web.sampling.models import SampledSchool

    sampled = (SampledSchool.objects.filter(school__county=county, role=SampledSchool.Role.SAMPLED)
               .select_related("school").order_by("school__code").first())
    return sampled.school if sampled else School.objects.filter(county=county).order_by("code").first()


def demo_stage(ctx) -> None:
    """Demo: the platform's accounts (password ``demo``), listed in accounts.txt and printed."""
    from junheng_web.bootstrap import setup

    setup()
    rows = demo_accounts()
    path = ctx.out / "accounts.txt"
    lines = ["# junheng serve → http://127.0.0.1:8000/accounts/login/  (demo database only)",
             *(f"{u}\t{p}\t{w}" for u, p, w in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for u, p, w in rows:
        click.echo(f"   {u:<22} {p:<6} {w}")
    ctx.output("web accounts (junheng serve)", path)
