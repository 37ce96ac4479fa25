"""The demo's accounts stage: one account per role (``junheng_web.cycles.demo.demo_accounts``),
listed in ``accounts.txt`` for ``junheng serve``."""

from __future__ import annotations

import click


def demo_stage(ctx) -> None:
    """Demo: the platform's accounts (password ``demo``), listed in accounts.txt and printed."""
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.cycles.demo import demo_accounts

    rows = demo_accounts(note=lambda message: click.echo(f"   ({message})"))
    path = ctx.out / "accounts.txt"
    lines = ["# junheng serve → http://127.0.0.1:8000/accounts/login/  (demo database only)",
             *(f"{u}\t{p}\t{w}" for u, p, w in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for u, p, w in rows:
        click.echo(f"   {u:<22} {p:<6} {w}")
    ctx.output("web accounts (junheng serve)", path)
