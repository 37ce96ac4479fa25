"""``junheng backup`` / ``junheng restore``: parse, confirm, call :mod:`junheng_web.backup`, print."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def backup(out: Path) -> None:
    """Back the platform's database up into OUT (online: the server may keep running)."""
    from junheng_web.bootstrap import setup

    setup(migrate=False)
    from junheng_web.backup import backup_database

    kind = backup_database(out)
    click.echo(f"备份完成 / backup written ({kind}): {out}  ({out.stat().st_size:,} bytes)")
    click.echo("提示: 请另行保管 $JUNHENG_HOME/secret_key / note: keep a copy of $JUNHENG_HOME/secret_key too")


@click.command()
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="do not ask: replace the database's content")
def restore(src: Path, yes: bool) -> None:
    """Replace the platform's database with the backup SRC (everything written since is lost)."""
    if not yes:
        click.confirm("恢复会用备份替换当前数据库的全部内容，此后写入的数据将丢失。继续吗？ / Restoring replaces the "
                      "whole database with the backup; everything written since is lost. Continue?", abort=True)
    from junheng_web.bootstrap import setup

    setup(migrate=False)
    from junheng_web.backup import restore_database

    kind = restore_database(src)
    setup()  # a backup of an older version: bring its tables up to this version
    click.echo(f"恢复完成 / restored ({kind}) from {src}")
