"""``manage.py runjobs``: the background-job worker of a production set-up (docs/deploy.md)."""

from django.core.management.base import BaseCommand

from junheng_web.jobs.runner import work


class Command(BaseCommand):
    help = "Run queued junheng jobs (imports, sampling) until stopped; --once empties the queue and exits."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--poll", type=float, default=1.0)

    def handle(self, *args, once=False, poll=1.0, **options):
        n = work(poll=poll, once=once)
        self.stdout.write(f"{n} job(s) run")
