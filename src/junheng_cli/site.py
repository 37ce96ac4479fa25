"""``junheng site …``: the test-site node (测试点服务器, issue 15.1).

On the centre: ``prepare`` writes one signed, encrypted package per test site and keeps the unlock
codes at the centre; ``ingest`` verifies and merges the sites' result packages (idempotent).
On the school's laptop: ``serve`` unlocks the package with the code released at test start, loads
it into the laptop's SQLite and serves the pupils' browsers on the LAN with gunicorn; ``export``
writes the signed result package.  The work is done by ``junheng_web.delivery.sitenode``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import click

from junheng_cli.platform import platform_cycle

DEFAULT_HOME = Path("junheng-site")


def _centre_key_path(key: Path | None) -> Path:
    from django.conf import settings

    return key or Path(settings.JUNHENG_HOME) / "site-keys" / "centre.pem"


@click.group("site")
def site() -> None:
    """测试点服务器：准备、运行、导出、汇入 / the test-site node: prepare, serve, export, ingest."""


@site.command("prepare")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="the monitoring cycle's year")
@click.option("--grade", type=click.IntRange(1, 9), default=6, show_default=True)
@click.option("--site", "sites", multiple=True, help="a test site's code (repeat; default: every site of the cycle)")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="folder for the site packages (<site>.jhsite) and centre.pub.pem")
@click.option("--key", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="the centre's signing key (default $JUNHENG_HOME/site-keys/centre.pem, created on first use)")
@click.option("--site-ip", "site_ips", multiple=True, metavar="SITE=IP",
              help="a LAN address of a site's laptop for its HTTPS certificate, e.g. TA01=192.168.1.20 (repeat; "
                   "the certificate always names <site>.kaodian.local)")
@click.option("--codes", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="where the unlock codes go (default $JUNHENG_HOME/site-keys/unlock-<year>-<grade>.csv; "
                   "never beside the packages)")
def prepare_cmd(year: int, grade: int, sites: tuple[str, ...], out_dir: Path, key: Path | None,
                site_ips: tuple[str, ...], codes: Path | None) -> None:
    """中心：为每个测试点写出签名加密的数据包 / centre: write each site's signed, encrypted package."""
    addresses: dict[str, list[str]] = {}
    for pair in site_ips:
        code, sep, ip = pair.partition("=")
        if not (sep and code.strip() and ip.strip()):
            raise click.BadParameter(f"应写作 测试点=地址 / expected SITE=IP: {pair!r}", param_hint="--site-ip")
        addresses.setdefault(code.strip(), []).append(ip.strip())
    cycle = platform_cycle(year, grade)
    from django.conf import settings

    from junheng_web.delivery.sitenode import CA_OUT, prepare

    key = _centre_key_path(key)
    made = prepare(cycle, out_dir, key, sites=list(sites) or None, addresses=addresses)
    codes = codes or Path(settings.JUNHENG_HOME) / "site-keys" / f"unlock-{year}-{grade}.csv"
    codes.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(codes, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8-sig") as f:
        f.write("测试点编号,测试点名称,解锁码,数据包编号\n")
        for m in made:
            f.write(f"{m.site},{m.name},{m.unlock_code},{m.package_id}\n")
    for m in made:
        click.echo(f"{m.site} {m.name}: {m.sessions} 场次 / sessions, {m.pupils} 名学生 / pupils → {m.path}")
    click.echo(f"中心公钥 / centre public key: {out_dir / 'centre.pub.pem'} (安装到每台测试点电脑 / install on every "
               f"site laptop with the package)\n测试 CA 证书 / test CA certificate: {out_dir / CA_OUT} (安装到每台学生"
               f"电脑的受信任根证书 / install as a trusted root on every pupil's computer)\n解锁码 / unlock codes: {codes} — 只保存在中心，开考时逐个通知各测试点 / keep "
               "at the centre; release each site's code at test start (phone, SMS), never with the package")


def _site_env(home: Path) -> None:
    """The laptop's own settings: SQLite in ``home``, site-node settings (no debug, LAN hosts)."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["JUNHENG_HOME"] = str(home)
    os.environ["JUNHENG_DATABASE_URL"] = f"sqlite:///{home / 'junheng.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "junheng_web.site_settings"


@site.command("serve")
@click.argument("package", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=False)
@click.option("--site", "site_code", required=True, help="this laptop's test site (its code)")
@click.option("--centre-key", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="the centre's public key (centre.pub.pem), installed beforehand")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_HOME, show_default=True,
              help="the node's folder: its SQLite database, key and logs")
@click.option("--unlock-code", envvar="JUNHENG_UNLOCK_CODE", default=None,
              help="the code released at test start (asked for when not given; env JUNHENG_UNLOCK_CODE)")
@click.option("--proctor-password", envvar="JUNHENG_PROCTOR_PASSWORD", default=None,
              help="set the password of the node's account 'proctor' (env JUNHENG_PROCTOR_PASSWORD)")
@click.option("--host", default="0.0.0.0", show_default=True, help="address to listen on (all: the LAN)")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True, help="processes (one per core)")
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True, help="threads per process")
@click.option("--http", "plain", is_flag=True,
              help="plain HTTP instead of HTTPS with the site's certificate (the test page's offline copy is then off)")
@click.option("--load-only", is_flag=True, help="unlock and load the package, then stop (no server)")
def serve_cmd(package: Path | None, site_code: str, centre_key: Path, home: Path, unlock_code: str | None,
              proctor_password: str | None, host: str, port: int, workers: int, threads: int, plain: bool,
              load_only: bool) -> None:
    """测试点电脑：解锁数据包并在局域网提供测试 / site laptop: unlock the package and serve the test on the LAN."""
    _site_env(home)
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.delivery.sitenode import node_state, site_proctor, unlock

    state = node_state(home)
    if package is not None:
        from junheng.site import read_manifest

        blob = package  # the file: read in pieces, refused by its size before it is read (junheng.site.package)
        fresh = not state or state.get("package_id") != read_manifest(blob).get("package_id")
        if fresh and not unlock_code:
            unlock_code = click.prompt("解锁码 / unlock code", hide_input=True)
        state = unlock(blob, home=home, site=site_code, unlock_code=unlock_code or "", centre_public=centre_key,
                       name=f"{package.name}（测试点数据包 / site package）")
        click.echo(f"已载入 / loaded: {state['site']} {state['site_name']} (数据包 / package {state['package_id']})")
    elif not state:
        raise click.UsageError("本机尚未载入数据包，请给出数据包文件 / no package loaded yet: give the package file")
    elif state["site"] != site_code:
        raise click.UsageError(f"本机载入的是测试点 {state['site']} / this node holds site {state['site']}")
    _check_clock(state)
    user, created = site_proctor(home, proctor_password)
    if created and proctor_password is None:
        import secrets

        password = "-".join(secrets.token_hex(3) for _ in range(3))
        site_proctor(home, password)
        click.echo(f"监考员账号 / proctor account: proctor  密码 / password: {password}  (只显示这一次 / shown once)")
    if load_only:
        return
    tls_files = None if plain else _tls_files(home, state)
    scheme = "https" if tls_files else "http"
    if tls_files is None and not plain:
        click.echo("数据包没有 HTTPS 证书，使用 HTTP / the package has no HTTPS certificate: plain HTTP", err=True)
    for url in _lan_urls(host, port, scheme, state):
        click.echo(f"学生 / pupils: {url}/test/    监考台 / proctor: {url}/test/sessions/")
    from junheng.site import site_host

    allowed = os.environ.get("JUNHENG_ALLOWED_HOSTS", "localhost")  # the site's fixed name too
    os.environ["JUNHENG_ALLOWED_HOSTS"] = f"{allowed},{site_host(state['site'])}"
    _gunicorn(host, port, workers, threads, home, tls_files)


def _tls_files(home: Path, state: dict) -> tuple[Path, Path] | None:
    """The site's certificate and key from the package, written for gunicorn (the key mode 0600)."""
    if not state.get("tls_cert"):
        return None
    folder = home.resolve() / "tls"
    folder.mkdir(exist_ok=True)
    cert, key = folder / "server.crt", folder / "server.key"
    cert.write_text(state["tls_cert"], encoding="ascii")
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(state["tls_key"])
    return cert, key


def _check_clock(state: dict) -> None:
    """The node decides time-up by its own clock: show it beside the sessions, warn when far off."""
    import datetime as dt

    from django.utils import timezone

    from junheng_web.delivery.sitenode import site_sessions

    now = timezone.localtime()
    click.echo(f"本机时间 / this laptop's clock: {now:%Y-%m-%d %H:%M:%S %Z} — 请与北京时间核对 / check it against "
               "Beijing time")
    sessions = list(site_sessions(state["site"]))
    for s in sessions:
        click.echo(f"  {s.subject} {s.room}: {timezone.localtime(s.starts_at):%Y-%m-%d %H:%M}–"
                   f"{timezone.localtime(s.ends_at):%H:%M}")
    if sessions and all(abs(s.starts_at - now) > dt.timedelta(hours=12) for s in sessions):
        click.echo("警告: 本机时间与各场次相差超过 12 小时；时间错误会使学生无法登录或作答被拒 / warning: the clock is "
                   "more than 12 hours from every session; a wrong clock keeps pupils out or refuses answers", err=True)


def _lan_urls(host: str, port: int, scheme: str = "http", state: dict | None = None) -> list[str]:
    if scheme == "https":  # the names the certificate is for
        from junheng.site import certificate_names

        return [f"https://{n}:{port}" for n in certificate_names(state["tls_cert"].encode()) if n not in ("localhost", "127.0.0.1")]
    if host not in ("0.0.0.0", "::"):
        return [f"http://{host}:{port}"]
    found = set()
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.connect(("10.255.255.255", 1))  # no packet is sent: the route tells the LAN address
        found.add(probe.getsockname()[0])
        probe.close()
    except OSError:
        pass
    return [f"http://{a}:{port}" for a in sorted(found)] or [f"http://127.0.0.1:{port}"]


def keep_alive_seconds(poll_seconds: float) -> int:
    """How long the node keeps a pupil's idle connection open: two status-poll periods and 5 s
    (25 s at the page's 10 s).  Below one period (it was 5 s) every poll opened a new connection —
    on the node's HTTPS a new TLS handshake each time; one period is not enough either, as the page
    skips a poll while it sends answers (``delivery.js``), which may go over another connection.
    An idle kept-alive connection costs gunicorn's gthread worker no thread (it waits in the worker's
    poller; a client slow to send its request is put back there after 5 s too), only a socket, up to
    ``--worker-connections`` less the threads (1000 − 8) per worker, against the ≈ 30–300 pupils of
    a site.  Browsers keep an idle connection longer than this (Chrome 300 s, Firefox 115 s), so the
    node is the side that closes (docs/deploy.md, "The test-site node's connections")."""
    import math

    return 2 * math.ceil(poll_seconds) + 5


def _gunicorn(host: str, port: int, workers: int, threads: int, home: Path, tls_files=None) -> None:
    """Replace this process by gunicorn (the production WSGI server; POSIX only) with threaded
    workers on the node's settings.  A fresh process, not a fork of this one: nothing started
    here (a thread pool of Polars, a database connection) is inherited by the workers."""
    import sys

    from junheng_web.delivery.services import poll_seconds

    argv = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
            "--worker-class", "gthread", "--threads", str(threads), "--timeout", "60", "--graceful-timeout", "10",
            "--keep-alive", str(keep_alive_seconds(poll_seconds())),
            "--access-logfile", str(home.resolve() / "access.log"), "--error-logfile", "-",
            *(("--certfile", str(tls_files[0]), "--keyfile", str(tls_files[1])) if tls_files else ()),
            "junheng_web.wsgi:application"]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # the environment (_site_env) carries the settings


@site.command("export")
@click.option("--home", type=click.Path(file_okay=False, exists=True, path_type=Path), default=DEFAULT_HOME,
              show_default=True)
@click.option("-o", "--out", "outfile", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="the result package (.jhresult)")
def export_cmd(home: Path, outfile: Path) -> None:
    """测试点电脑：写出签名的结果数据包 / site laptop: write the signed result package."""
    _site_env(home)
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.delivery.sitenode import export_results

    counts = export_results(home, outfile)
    click.echo(f"{counts['attempts']} 份作答 / attempts, {counts['answers']} 条作答记录 / answer changes, "
               f"{counts['events']} 条监考记录 / proctor events → {outfile}")


@site.command("ingest")
@click.argument("packages", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--key", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="the centre's signing key (default $JUNHENG_HOME/site-keys/centre.pem)")
def ingest_cmd(packages: tuple[Path, ...], key: Path | None) -> None:
    """中心：验证并汇入测试点结果数据包（可重复汇入） / centre: verify and merge result packages (idempotent)."""
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.delivery.sitenode import ingest

    key = _centre_key_path(key)
    for path in packages:
        got = ingest(path, key, name=path.name)  # the file, read in pieces (junheng.site.open_package)
        again = " (此前已汇入，无变化 / ingested before: nothing changed)" if got["again"] else ""
        click.echo(f"{path.name}: 测试点 / site {got['site']}: +{got['attempts']} 份作答 / attempts, +{got['answers']} 条作答 / "
                   f"answers, +{got['events']} 条监考记录 / events{again}")
