"""``junheng synth``: write a synthetic province (schools.xlsx, rosters/*.csv, manifest.json)."""

from __future__ import annotations

from pathlib import Path

import click

from junheng_cli.progress import bar


def write_synthetic(out: Path, scale: float, seed: int) -> dict:
    from junheng.synth import province, write_province

    click.echo(f"生成合成省份 / drawing the synthetic province (scale {scale}, seed {seed}) …", err=True)
    prov = province(scale, seed)
    with bar(prov.regions.height + 2, "写入 / writing", unit="file") as b:
        return write_province(prov, out, on_file=lambda _path: b.update(1))


@click.command()
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="folder for schools.xlsx, rosters/<county>.csv and manifest.json")
@click.option("--scale", type=float, default=1.0, show_default=True,
              help="size (1 = a grade-6 cohort of about 1.5 million; 0.02 for a quick try)")
@click.option("--seed", type=int, default=2022, show_default=True, help="the same seed gives the same files")
def synth(out: Path, scale: float, seed: int) -> None:
    """生成合成省份（非真实数据）/ Write a synthetic province: school list and grade-6 rosters."""
    manifest = write_synthetic(out, scale, seed)
    rosters = manifest["rosters"]
    gb = sum(r["encoding"] == "gb18030" for r in rosters)
    click.echo(f"{len(rosters)} 个区县 counties, {manifest['schools']['rows']} 所学校 schools, "
               f"{manifest['pupils']} 名六年级学生 grade-6 pupils ({gb} rosters in GB18030) → {out}")
