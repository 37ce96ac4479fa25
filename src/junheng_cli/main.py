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


class JunhengGroup(click.Group):
    """Turns every deliberate error into a bilingual message and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
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
