"""What re-drawing a cycle's sample costs, stated before it is done (issue 12.9).

The sampling app counts what it discards itself (``sampling.services.redraw_losses``: weight
sets, final weights, schools' decisions); the cycle workflow adds what hangs on the sample in the
apps above it: test sites' links to the sampled schools (deleted with them), and data already
collected (kept, but no longer matched to the new sample where its pupils are not drawn again).
"""

from __future__ import annotations

from django.db.models import Count

from junheng_web.delivery.models import Attempt
from junheng_web.fitness.models import FitnessRecord
from junheng_web.registry.models import Cycle
from junheng_web.sampling.services import redraw_losses
from junheng_web.testsites.models import TestSite


def consequences(cycle: Cycle) -> tuple[dict[str, int], list[str]]:
    """``(counts, lines)``: every non-zero loss, and one bilingual sentence per loss for the page."""
    counts = {**redraw_losses(cycle),
              "site_links": TestSite.objects.filter(cycle=cycle).aggregate(n=Count("schools"))["n"] or 0,
              "fitness_records": FitnessRecord.objects.filter(cycle=cycle).count(),
              "attempts": Attempt.objects.filter(session__site__cycle=cycle).count()}
    text = {
        "weight_sets": "{n} 套已保存的权重（最终权重和重复权重）将被删除 / {n} stored weight sets (final and replicate "
                       "weights) will be deleted",
        "weighted_pupils": "{n} 名学生的最终权重将被删除 / the final weights of {n} pupils will be deleted",
        "school_decisions": "{n} 条学校拒绝、撤并或替补记录将丢失 / {n} schools' refusal, closure or replacement "
                            "records will be lost",
        "site_links": "测试点与 {n} 所抽中学校的关联将被删除，需要重新设置测试点 / the test sites' links to {n} sampled "
                      "schools will be deleted; the sites must be set up again",
        "fitness_records": "已收集的 {n} 条体质健康记录保留，但未被重新抽中的学生的记录将不再属于样本 / the {n} fitness "
                           "records collected stay, but those of pupils not drawn again fall outside the sample",
        "attempts": "已有的 {n} 份在线测试作答保留，但可能不再属于新样本 / the {n} browser-test attempts stay, but may "
                    "fall outside the new sample",
    }
    counts = {k: v for k, v in counts.items() if v}
    return counts, [text[k].format(n=v) for k, v in counts.items()]
