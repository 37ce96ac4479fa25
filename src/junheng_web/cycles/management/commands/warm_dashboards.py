"""``manage.py warm_dashboards``: compute the result pages of a cycle (fitness and academic, of the
province, every city and every county) into the shared cache, so no operator waits for them —
after a bulk load, a restore, or on a new deployment (imports through the platform queue it)."""

from django.core.management.base import BaseCommand, CommandError

from junheng_web.cycles.dashboards import warm
from junheng_web.registry.models import Cycle
from junheng_web.registry.regions import as_region


class Command(BaseCommand):
    help = "Precompute the dashboards of a cycle (default: the latest) into the cache."

    def add_arguments(self, parser):
        parser.add_argument("--cycle", type=int, help="the cycle's id (default: the latest cycle)")
        parser.add_argument("--region", action="append", default=None,
                            help="a city or county code, or 'province' (repeatable; default: the province, every "
                                 "city and every county)")

    def handle(self, *args, cycle=None, region=None, **options):
        obj = Cycle.objects.filter(pk=cycle).first() if cycle else Cycle.objects.order_by("-year", "-id").first()
        if obj is None:
            raise CommandError("没有该监测周期 / no such cycle")
        regions = None if region is None else [None if c == "province" else as_region(c) for c in region]
        if regions is not None and any(r is None for c, r in zip(region, regions) if c != "province"):
            raise CommandError(f"未知的区域代码 / unknown region code in {region}")
        n = warm(obj, regions)
        self.stdout.write(f"{obj}: {n} 个页面已预算 / pages precomputed")
