"""The student questionnaire in the pupil's browser after the test (issue 15.6).

When the pupil has submitted the test and the cycle has a student questionnaire
(``questionnaires.Questionnaire``, respondent ``student``) that the pupil has not answered yet,
the test page shows it.  Its answers travel through the same queue as the test's: every change a
row keyed by the browser's UUID (``QuestionnaireAnswer``: a replay is a no-op), ordered by
``(lease, seq)`` so an older page never overrides a newer one, stored in IndexedDB first and sent
when the network is there.  Changes are taken when given before the questionnaire closes,
``QUESTIONNAIRE_TIME`` after the pupil's time-up (the proctor's window: pauses and extra time
count), whenever they arrive.  **完成** compiles the current answers into the cycle's
``QuestionnaireResponse`` through the questionnaires app's own import (the core's checks, the
registry checks, the scale scores, an idempotent upsert), exactly as a paper questionnaire keyed
into a spreadsheet is stored.
"""

from __future__ import annotations

import datetime as dt
import math

from django.utils import timezone

from junheng.exceptions import ParameterError
from junheng_web.delivery import proctor
from junheng_web.delivery.models import Attempt, QuestionnaireAnswer
from junheng_web.delivery.services import OPEN_BEFORE, Change, Recorded, store_changes
from junheng_web.questionnaires.models import Questionnaire, QuestionnaireResponse
from junheng_web.questionnaires.services import store_one

QUESTIONNAIRE_TIME = dt.timedelta(minutes=30)  # after the pupil's time-up


def closes_at(attempt: Attempt, now: dt.datetime | None = None) -> dt.datetime:
    return proctor.window(attempt.session, attempt.student_id, now).end + QUESTIONNAIRE_TIME


def for_attempt(attempt: Attempt) -> Questionnaire | None:
    """The cycle's student questionnaire (the first by code), once the pupil has submitted the test."""
    if attempt.submitted_at is None:
        return None
    return (Questionnaire.objects.filter(cycle_id=attempt.session.site.cycle_id, respondent="student")
            .order_by("code").first())


def pending(attempt: Attempt, now: dt.datetime | None = None) -> Questionnaire | None:
    """The student questionnaire the pupil still has to answer now, or ``None`` (none defined,
    answered already — in the browser or on paper —, or closed)."""
    q = for_attempt(attempt)
    if q is None or QuestionnaireResponse.objects.filter(questionnaire=q, respondent_id=attempt.student_id).exists():
        return None
    return q if (now or timezone.now()) <= closes_at(attempt, now) else None


def _items(q: Questionnaire) -> list[dict]:
    return list(q.definition.get("items", []))


def browser_items(q: Questionnaire) -> list[dict]:
    """What the page renders: each question's text and its options (code, label) or its number
    box (unit, range)."""
    out = []
    for pos, it in enumerate(_items(q), 1):
        if it["type"] == "choice":
            options = sorted(((int(k), v) for k, v in it.get("options", {}).items()))
            out.append({"id": it["id"], "position": pos, "block": "", "format": "scale", "stem": it["text"],
                        "options": [[str(k), v] for k, v in options], "media": []})
        else:
            out.append({"id": it["id"], "position": pos, "block": "", "format": "number", "stem": it["text"],
                        "options": [], "media": [], "unit": it.get("unit") or ""})
    return out


def _bad(it: dict, raw: str) -> bool:
    """Whether ``raw`` is not an answer the question takes (blank is: no answer)."""
    if raw == "":
        return False
    if it["type"] == "choice":
        return raw not in {str(k) for k in it.get("options", {})}
    try:
        x = float(raw)
    except ValueError:
        return True
    low, high = it.get("min"), it.get("max")
    return (not math.isfinite(x) or (low is not None and x < low) or (high is not None and x > high)
            or (bool(it.get("integer")) and not x.is_integer()))


def record(attempt: Attempt, q: Questionnaire, changes: list[Change], now: dt.datetime | None = None) -> Recorded:
    """Store the changes given before the questionnaire closes (``closes_at``); refuse, one by
    one, later ones and those of a page a newer page replaced.  A question not in the
    questionnaire or an answer it does not take refuses the batch (``ParameterError``)."""
    now = now or timezone.now()
    items = {it["id"]: it for it in _items(q)}
    bad = [f"{c.item_id}={c.raw!r}" for c in changes if c.item_id not in items or _bad(items[c.item_id], c.raw.strip())]
    if bad:
        raise ParameterError(f"问卷中没有这些题目或选项 / not a question or answer of the questionnaire: {', '.join(bad[:10])}")
    end = closes_at(attempt, now)
    return store_changes(attempt, changes, now=now, end=end, opened=attempt.session.starts_at - OPEN_BEFORE,
                         make=lambda c, at: QuestionnaireAnswer(id=c.id, attempt=attempt, questionnaire=q,
                                                                item=c.item_id, raw=c.raw.strip(), seq=c.seq,
                                                                lease=c.lease, client_at=at),
                         model=QuestionnaireAnswer)


def current(attempt: Attempt, q: Questionnaire) -> dict[str, dict]:
    """``item → {raw, seq, lease}``: the change with the highest ``(lease, seq)`` of each question."""
    out: dict[str, dict] = {}
    for item, raw, seq, lease in (QuestionnaireAnswer.objects.filter(attempt=attempt, questionnaire=q)
                                  .order_by("item", "lease", "seq").values_list("item", "raw", "seq", "lease")):
        out[item] = {"raw": raw, "seq": seq, "lease": lease}
    return out


def max_seq(attempt: Attempt, q: Questionnaire) -> int:
    return max((a["seq"] for a in current(attempt, q).values()), default=0)


def finish(attempt: Attempt, q: Questionnaire) -> dict:
    """The pupil's current answers → the cycle's questionnaire response (the questionnaires app's
    import: checked, scored, upserted; finishing twice changes nothing)."""
    answers = {item: a["raw"] for item, a in current(attempt, q).items()}
    return store_one(attempt.session.site.cycle, q, attempt.student_id,
                     {it["id"]: answers.get(it["id"], "") for it in _items(q)}, source="在线问卷 / browser")
