"""The demo's registry stage: the synthetic school list and rosters imported into the platform
(``junheng_web.registry.services``), then the registry frames written for the later stages."""

from __future__ import annotations

from pathlib import Path

import click


def demo_stage(ctx) -> None:
    """Import the synthetic province's school list and every roster, then write the registry
    frames to ``ctx.out/registry/{schools,pupils}.parquet`` (``ctx.state["schools"/"pupils"]``)."""
    from junheng.io import write_table
    from junheng_cli.progress import progress
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.registry import services


    synth = Path(ctx.state["synth_dir"])
    r = services.import_schools(synth / "schools.xlsx")
    click.echo(f"   {r.summary()}")
    created = updated = unchanged = 0
    files = sorted((synth / "rosters").glob("*.csv"))
    for f in progress(files, "导入名册 rosters", unit="file"):
        r = services.import_pupils(f)
        created, updated, unchanged = created + r.created, updated + r.updated, unchanged + r.unchanged
    click.echo(f"   {len(files)} 个名册 rosters: 新增 created {created}, 更新 updated {updated}, 未变 unchanged {unchanged}")
    schools, pupils = services.registry_frames()
    out = ctx.out / "registry"
    ctx.state["schools"] = write_table(schools, out / "schools.parquet")
    ctx.state["pupils"] = write_table(pupils, out / "pupils.parquet")
    ctx.output("registry schools", ctx.state["schools"])
    ctx.output("registry pupils", ctx.state["pupils"])
