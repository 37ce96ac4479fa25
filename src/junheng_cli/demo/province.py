"""The demo's first stage: the synthetic province at the demo's scale and seed (``junheng.synth``)."""

from __future__ import annotations

import click

from junheng_cli.synth import write_synthetic


def demo_stage(ctx) -> None:
    """Demo: the synthetic province at the demo's scale and seed, written to ``<out>/synth``."""
    out = ctx.out / "synth"
    manifest = write_synthetic(out, ctx.scale, ctx.seed)
    ctx.state["synth_dir"] = out
    click.echo(f"   {manifest['schools']['rows']} schools, {manifest['pupils']} grade-6 pupils, "
               f"{len(manifest['rosters'])} counties")
    ctx.output("synthetic school list", out / "schools.xlsx")
    ctx.output("synthetic grade-6 rosters", out / "rosters")
