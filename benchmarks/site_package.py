"""A test site's packages at the real size (issue 15.1): ``BENCH_SITE_PUPILS`` pupils (300 at a
large site), a booklet of ``BENCH_SITE_ITEMS`` items, ``BENCH_SITE_CHANGES`` answer changes per item.

Seeds a throw-away SQLite database and times, in one run:

- ``prepare``: the centre writes the site package (records chosen, serialised, scrypt, AES-GCM,
  Ed25519);
- ``ingest``: the centre verifies and merges the site's result package (every attempt, lease and
  answer change), then ingests it again (the re-upload: nothing added);
- the baseline: the same answer rows written by one plain ``bulk_create`` (what storing them costs
  at least), so the ratio says what verifying, decrypting and merging by UUID add.

``python benchmarks/run.py site_package`` (env: BENCH_SITE_PUPILS, BENCH_SITE_ITEMS, BENCH_SITE_CHANGES).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from _django_worker import run_worker  # benchmarks/ is on the path

PUPILS = int(os.environ.get("BENCH_SITE_PUPILS", "300"))
ITEMS = int(os.environ.get("BENCH_SITE_ITEMS", "40"))
CHANGES = int(os.environ.get("BENCH_SITE_CHANGES", "2"))


def _seed():
    import datetime as dt

    from django.utils import timezone

    from junheng_web.assessment.models import Block, BlockItem, Booklet, BookletAssignment, BookletBlock, Item
    from junheng_web.registry.models import Cycle, Pupil, Region, School
    from junheng_web.sampling.models import SampledPupil, SampledSchool, SampleRun
    from junheng_web.testsites.models import LoginCode, TestSession, TestSite

    prov = Region.objects.create(code="410000", level="province", name="河南省")
    county = Region.objects.create(code="410102", level="county", name="基准县", parent=prov)
    school = School.objects.create(code="4101020001", name="基准小学", county=county, stage="小学", location="城区")
    cycle = Cycle.objects.create(year=2030, grade=6, subjects=["数学"])
    run = SampleRun.objects.create(cycle=cycle, seed=1)
    ss = SampledSchool.objects.create(run=run, cycle=cycle, school=school, role="sampled", stratum="s", sort_order=0,
                                      mos=PUPILS, school_weight=1.0)
    pupils = Pupil.objects.bulk_create([Pupil(student_id=f"G{k:018d}", name=f"学生{k}", sex=1 + k % 2,
                                              birth_date=dt.date(2019, 1, 1), school=school, grade=6)
                                        for k in range(PUPILS)])
    SampledPupil.objects.bulk_create([SampledPupil(run=run, cycle=cycle, pupil=p, sampled_school=ss, subject="数学",
                                                   pupil_order=k, school_weight=1, pupil_weight=1, base_weight=1)
                                      for k, p in enumerate(Pupil.objects.all())])
    site = TestSite.objects.create(cycle=cycle, county=county, code="T1", name="基准测试点")
    site.schools.add(ss)
    now = timezone.now()
    session = TestSession.objects.create(site=site, subject="数学", room="1", starts_at=now - dt.timedelta(hours=1),
                                         ends_at=now)
    items = Item.objects.bulk_create([Item(item_id=f"M{k:03d}", subject="数学", format="single_choice", key="A",
                                           options=["1", "2", "3", "4"], stem=f"第 {k} 题") for k in range(ITEMS)])
    items = list(Item.objects.order_by("item_id"))
    block = Block.objects.create(cycle=cycle, code="K1", subject="数学")
    BlockItem.objects.bulk_create([BlockItem(block=block, item=it, order=k + 1) for k, it in enumerate(items)])
    booklet = Booklet.objects.create(cycle=cycle, code="B1", subject="数学")
    BookletBlock.objects.create(booklet=booklet, block=block, position=1)
    BookletAssignment.objects.bulk_create([BookletAssignment(cycle=cycle, student_id=p.student_id, subject="数学",
                                                             booklet=booklet, seed=0) for p in pupils])
    LoginCode.objects.bulk_create([LoginCode(session=session, student_id=p.student_id, code_hash=f"{k:064x}")
                                   for k, p in enumerate(pupils)])
    return cycle, site, session, booklet, items, pupils


def worker() -> dict:
    from junheng_web.bootstrap import setup

    setup()
    import datetime as dt
    import uuid

    from django.conf import settings

    from junheng.site import load_private, result_key, seal, site_signing_key
    from junheng_web.delivery.models import Answer, Attempt
    from junheng_web.delivery.sitenode import ingest, prepare

    cycle, site, session, booklet, items, pupils = _seed()
    keys = Path(settings.JUNHENG_HOME) / "keys" / "centre.pem"
    t = time.perf_counter()
    made = prepare(cycle, Path(settings.JUNHENG_HOME) / "out", keys)[0]
    t_prepare = time.perf_counter() - t
    at = session.starts_at.isoformat()
    attempts = [str(uuid.uuid4()) for _ in pupils]
    answers = [{"id": str(uuid.uuid4()), "attempt": a, "item": it.item_id, "raw": "AB"[c % 2], "seq": 1 + k * CHANGES + c,
                "lease": 1, "client_at": at, "received_at": at}
               for a in attempts for k, it in enumerate(items) for c in range(CHANGES)]
    data = {"attempts": [{"id": a, "session": session.pk, "student_id": p.student_id, "booklet": booklet.pk,
                          "started_at": at, "submitted_at": at, "lease": 1} for a, p in zip(attempts, pupils)],
            "leases": [{"attempt": a, "number": 1, "started_at": at} for a in attempts],
            "answers": answers, "events": [], "audit": []}
    centre, pid = load_private(keys), made.package_id
    blob = seal({"results.json": json.dumps(data).encode()}, kind="result", site=site.code, cycle=str(cycle.pk),
                signer=site_signing_key(centre, site.code, pid, str(cycle.pk)),
                key=result_key(centre, site.code, pid, str(cycle.pk)),
                extra={"site_package": pid})
    t = time.perf_counter()
    first = ingest(blob, keys)
    t_ingest = time.perf_counter() - t
    t = time.perf_counter()
    again = ingest(blob, keys)
    t_again = time.perf_counter() - t
    assert first["answers"] == len(answers) and again["answers"] == 0, (first, again)
    # baseline: the same rows, fresh ids, written by one bulk_create into a copy of the attempts
    copies = Attempt.objects.bulk_create([Attempt(session=session, student_id=f"x{k}", booklet=booklet)
                                          for k in range(len(pupils))])
    ids = {it.item_id: it.pk for it in items}
    by = dict(zip(attempts, copies))
    rows = [Answer(id=uuid.uuid4(), attempt=by[x["attempt"]], item_id=ids[x["item"]], raw=x["raw"], seq=x["seq"],
                   lease=1, client_at=dt.datetime.fromisoformat(at)) for x in answers]
    t = time.perf_counter()
    Answer.objects.bulk_create(rows, batch_size=2000)
    t_base = time.perf_counter() - t
    return {"pupils": len(pupils), "answers": len(answers), "package_kb": len(blob) / 1024,
            "site_kb": made.path.stat().st_size / 1024, "prepare": t_prepare, "ingest": t_ingest, "again": t_again,
            "baseline": t_base}


def main() -> None:
    r = run_worker(__file__, "junheng-bench-site-")
    print(f"  one site: {r['pupils']} pupils, {r['answers']:,} answer changes (SQLite, wall time)")
    print(f"  prepare (site package {r['site_kb']:.0f} KB)        {r['prepare']:7.2f} s")
    print(f"  ingest (result package {r['package_kb']:.0f} KB)    {r['ingest']:7.2f} s   "
          f"{r['ingest'] / r['baseline']:5.1f}× the plain bulk insert ({r['baseline']:.2f} s)")
    print(f"  ingest again (nothing added)          {r['again']:7.2f} s   {r['again'] / r['baseline']:5.1f}×")


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        print(json.dumps(worker()))
    else:
        main()
