"""The ``junheng`` command. Each domain's commands live in their own module and are added here.

Exit codes: 0 success; 1 a bug (traceback); 2 bad input or parameters (every issue printed).
"""

from __future__ import annotations

import sys

import click

from junheng import __version__
from junheng.exceptions import InputError, JunhengError
from junheng_cli import (
    assessment,
    backup,
    delivery,
    demo,
    fitness,
    imports,
    irt,
    levels,
    materials,
    questionnaire,
    report,
    serve,
    site,
    supervision,
    survey,
    synth,
)

# Click's own messages about the command line, in English only: the Chinese put before them (first match).
_USAGE_ZH = (
    ("does not exist", "文件或文件夹不存在"), ("is a directory", "应为文件，不是文件夹"),
    ("is a file", "应为文件夹，不是文件"), ("is not readable", "无法读取（权限）"), ("is not writable", "无法写入（权限）"),
    ("is not a valid integer", "应为整数"), ("is not a valid float", "应为数字"), ("is not one of", "不是可选的取值之一"),
    ("is not in the range", "超出允许范围"), ("Missing argument", "缺少参数"), ("Missing option", "缺少必需的选项"),
    ("Missing parameter", "缺少参数"), ("No such option", "没有这个选项"), ("No such command", "没有这个命令"),
    ("requires an argument", "选项缺少取值"), ("unexpected extra argument", "多余的参数"),
    ("Could not open file", "无法打开文件"), ("Invalid value", "取值无效"),
)


def _bilingual(exc: click.ClickException) -> click.ClickException:
    """The exception with a Chinese statement before Click's English one (kept as it is when the
    command already wrote Chinese)."""
    text = exc.format_message()
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return exc
    zh = next((z for en, z in _USAGE_ZH if en in text), "命令行参数有误")
    if isinstance(exc, click.UsageError):
        return click.UsageError(f"{zh} / {text}", ctx=exc.ctx)
    out = click.ClickException(f"{zh} / {text}")
    out.exit_code = exc.exit_code
    return out


class JunhengGroup(click.Group):
    """Turns every deliberate error into a bilingual message and exit code 2, never a traceback;
    Click's messages about the command line (a missing file, a wrong option value) get their Chinese."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.ClickException as exc:
            raise _bilingual(exc) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            raise _bilingual(exc) from None
        except InputError as exc:
            click.echo(exc.summary, err=True)
            for issue in exc.errors:
                click.echo("  " + issue.message(), err=True)
            for issue in exc.warnings:
                click.echo("  [警告/warning] " + issue.message(), err=True)
            sys.exit(2)
        except JunhengError as exc:
            click.echo(f"错误 / error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=JunhengGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="junheng")
def cli() -> None:
    """junheng (均衡) — 义务教育质量与优质均衡发展监测平台 / compulsory-education monitoring."""


cli.add_command(demo.demo)
cli.add_command(synth.synth)
cli.add_command(imports.import_group)
cli.add_command(fitness.fitness)
cli.add_command(irt.irt)
cli.add_command(assessment.items)
cli.add_command(assessment.booklets)
cli.add_command(levels.levels)
cli.add_command(survey.sample)
cli.add_command(survey.survey)
cli.add_command(questionnaire.questionnaire)
cli.add_command(report.report)
cli.add_command(materials.materials)
cli.add_command(serve.serve)
cli.add_command(backup.backup)
cli.add_command(backup.restore)
cli.add_command(supervision.video)
cli.add_command(delivery.delivery)
cli.add_command(site.site)


def main() -> None:
    cli(prog_name="junheng")


if __name__ == "__main__":
    main()
