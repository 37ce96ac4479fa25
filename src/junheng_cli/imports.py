"""``junheng import``: registry files into the system of record (all or nothing, idempotent).

Thin: parse the options → ``junheng_web.registry.services`` → print the summary → exit code
(2 with every issue printed when a file is rejected; nothing is written then).
"""

from __future__ import annotations

from pathlib import Path

import click

from junheng_cli.progress import fraction_bar


def _services():
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.registry import services

    return services


def _run(kind: str, file: Path, dry_run: bool, annotate: Path | None, **extra) -> None:
    services = _services()
    fn = services.import_schools if kind == "schools" else services.import_pupils
    with fraction_bar(f"导入 {file.name}") as progress:
        try:
            result = fn(file, dry_run=dry_run, annotate=annotate, progress=progress, **extra)
        except services.ImportRejected as exc:
            if exc.annotated_path:
                click.echo(f"标注了错误的工作簿 / annotated workbook: {exc.annotated_path}", err=True)
            raise
    for w in result.warnings:
        click.echo("  [警告/warning] " + w.message(), err=True)
    click.echo(result.summary())


_dry = click.option("--dry-run", is_flag=True, help="check everything and count what would change, write nothing")
_annotate = click.option("--annotate", type=click.Path(dir_okay=False, path_type=Path), default=None,
                         help="where to write the annotated workbook when the file is rejected (.xlsx)")
_file = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@click.group(name="import")
def import_group() -> None:
    """Import registry files (schools, pupils) — all or nothing, idempotent."""


@import_group.command("schools")
@_file
@_dry
@_annotate
def import_schools(file: Path, dry_run: bool, annotate: Path | None) -> None:
    """导入学校名册 / import a school list (.xlsx/.xls/.csv with the 学校标识码 … headers)."""
    _run("schools", file, dry_run, annotate)


@import_group.command("pupils")
@_file
@_dry
@_annotate
@click.option("--school-year", type=click.IntRange(2000, 2100), default=None,
              help="autumn year of the school year, for the age-for-grade check (default: inferred from the file)")
def import_pupils(file: Path, dry_run: bool, annotate: Path | None, school_year: int | None) -> None:
    """导入学生名册 / import a pupil roster (.xlsx/.xls/.csv with the 学籍号 … headers)."""
    _run("pupils", file, dry_run, annotate, school_year=school_year)
