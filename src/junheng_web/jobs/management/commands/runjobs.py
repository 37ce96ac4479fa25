"""``manage.py runjobs``: a background-job worker (django-tasks-db's database worker, plus the
platform's lease reaping); run any number, on any machine that reaches the database (docs/deploy.md)."""

import signal

from django.core.management.base import BaseCommand

from junheng_web.jobs.runner import work


class Command(BaseCommand):
    help = ("Run queued junheng jobs (imports, sampling, video analysis) until stopped (SIGTERM finishes the "
            "current job first); --once empties the queue and exits.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--poll", type=float, default=1.0)

    def handle(self, *args, once=False, poll=1.0, **options):
        import threading

        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        n = work(stop=stop, poll=poll, once=once)
        self.stdout.write(f"{n} job(s) run")
