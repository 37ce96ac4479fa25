"""Response forensics of a test session from the platform's own data (issue 16): the answers and
their times live in ``delivery``, the seating plan in ``testsites``, the flags and their reviewers
in ``supervision`` — apps that may not import each other, so the workflow layer gathers the
inputs here and hands them down (``supervision.services.run_forensics``)."""

from __future__ import annotations

import polars as pl

from junheng.exceptions import ParameterError
from junheng_web.testsites.models import TestSession


def forensic_inputs(session: TestSession) -> dict:
    """The response forensics' inputs of ``session``, gathered from the platform: ``responses``
    (the final answers of its attempts to keyed choice items, ``delivery.services.responses_frame``;
    a pupil with two answers to one item, from attempts in two sessions of the subject, left out),
    ``key`` (the items' keys), ``items`` (2PL — else Rasch — parameters calibrated on all of the
    cycle's answers to those items in the subject; None when they cannot be fitted, e.g. too few
    pupils: then no IRT statistic), ``seating`` (the session's printed seating plan,
    ``testsites.services.session_seating``), ``events`` (every answer the browser sent: ``at`` its
    time given, else received) and ``starts`` (each attempt's start); ``changes`` from the events and
    from the erasures on the session's answer sheets (:func:`paper_changes`); ``arrivals``,
    ``contacts`` and ``stops`` (:func:`arrival_inputs`)."""
    from junheng.irt import calibrate
    from junheng.supervision import changes_from_events
    from junheng_web.assessment.models import Item
    from junheng_web.delivery.models import Answer, Attempt
    from junheng_web.delivery.services import responses_frame
    from junheng_web.testsites.services import session_seating

    cycle = session.site.cycle
    attempts = Attempt.objects.filter(session=session)
    ids = sorted(set(attempts.values_list("student_id", flat=True)))
    if not ids:
        raise ParameterError("该场次没有作答记录 / the session has no attempts")
    all_answers = responses_frame(cycle, subject=session.subject)
    # a pupil with two answers to one item (attempts in two sessions of the subject, e.g. a paper
    # sheet and the browser) is ambiguous until a reviewer chooses (docs/methods/omr.md): left out
    twice = all_answers.filter(pl.struct("person_id", "item_id").is_duplicated())["person_id"].unique()
    all_answers = all_answers.filter(~pl.col("person_id").is_in(twice.to_list()))
    keyed = dict(Item.objects.filter(item_id__in=all_answers["item_id"].unique().to_list(),
                                     format__in=("single_choice", "multiple_choice")).exclude(key="")
                 .values_list("item_id", "key"))
    key = pl.DataFrame({"item_id": list(keyed), "key": list(keyed.values())}, schema={"item_id": pl.String, "key": pl.String})
    choice = all_answers.filter(pl.col("item_id").is_in(list(keyed))).select("person_id", "item_id", "raw")
    responses = choice.filter(pl.col("person_id").is_in(ids))
    scored = (choice.join(key, on="item_id").with_columns((pl.col("raw") == pl.col("key")).cast(pl.Int64).alias("x"))
              .pivot(on="item_id", index="person_id", values="x"))
    items = None
    for model in ("2pl", "rasch"):
        try:
            items = calibrate(scored, model).items_
            break
        except Exception:  # noqa: BLE001 — too few pupils or items to fit: the IRT statistics are left out
            items = None
    seating = session_seating(cycle, session)
    seating = (seating.rename({"student_id": "person_id"}).select("person_id", "room", "row", "col")
               .filter(pl.col("person_id").is_in(ids)) if seating.height else None)
    rows = list(Answer.objects.filter(attempt__in=attempts).order_by("attempt_id", "received_at", "seq")
                .values_list("attempt__student_id", "item__item_id", "raw", "client_at", "received_at", "seq"))
    events = pl.DataFrame([(sid, item, raw, client or received, seq) for sid, item, raw, client, received, seq in rows],
                          schema={"person_id": pl.String, "item_id": pl.String, "raw": pl.String,
                                  "at": pl.Datetime("us", "UTC"), "seq": pl.Int64}, orient="row")
    starts = pl.DataFrame(list(attempts.values_list("student_id", "started_at")),
                          schema={"person_id": pl.String, "started_at": pl.Datetime("us", "UTC")}, orient="row")
    changes = [c for c in (changes_from_events(events) if events.height else None, paper_changes(session))
               if c is not None and c.height]
    return {"responses": responses, "key": key, "items": items, "seating": seating,
            "events": events if events.height else None, "starts": starts,
            "changes": pl.concat(changes) if changes else None, **arrival_inputs(session)}


def arrival_inputs(session: TestSession) -> dict:
    """The backdated-answers rule's inputs of ``session`` (``junheng.supervision.arrivals``), times in
    the platform's zone (the flags name clock times): ``arrivals`` — every browser answer's stamp
    (``client_at``) and arrival (``received_at``; a paper sheet's answers have no stamp and are left
    out), by page (``lease``); ``contacts`` — the pages' heartbeat spans (``delivery.models.PageContact``);
    ``stops`` — each attempt's pauses, termination and time-up (its end or its submission);
    ``opens`` — when each page opened (``delivery.models.Lease``)."""
    from django.conf import settings

    from junheng_web.delivery import proctor
    from junheng_web.delivery.models import Answer, Attempt, Lease, PageContact
    from junheng_web.delivery.services import time_up

    tz = settings.TIME_ZONE
    local = pl.Datetime("us", tz)
    attempts = list(Attempt.objects.filter(session=session).select_related("session"))
    rows = list(Answer.objects.filter(attempt__session=session, client_at__isnull=False)
                .values_list("attempt__student_id", "lease", "item__item_id", "client_at", "received_at"))
    arrivals = pl.DataFrame(rows, schema={"person_id": pl.String, "lease": pl.Int64, "item_id": pl.String,
                                          "at": pl.Datetime("us", "UTC"), "received_at": pl.Datetime("us", "UTC")},
                            orient="row").with_columns(pl.col("at", "received_at").cast(local))
    contacts = pl.DataFrame(list(PageContact.objects.filter(attempt__session=session)
                                 .values_list("attempt__student_id", "lease", "first_at", "last_at", "gap_s")),
                            schema={"person_id": pl.String, "lease": pl.Int64, "first_at": pl.Datetime("us", "UTC"),
                                    "last_at": pl.Datetime("us", "UTC"), "gap_s": pl.Float64}, orient="row")
    stops = []
    wins = proctor.windows(session, [a.student_id for a in attempts])  # one read of the events, not one a pupil
    for a in attempts:
        win = wins[a.student_id]
        stops += [(a.student_id, s.start, "terminate" if s.reason == "terminated" else "pause") for s in win.stops]
        stops.append((a.student_id, time_up(a, win=win), "time_up"))
    stops = pl.DataFrame(stops, schema={"person_id": pl.String, "at": pl.Datetime("us", "UTC"), "what": pl.String},
                         orient="row")
    opens = pl.DataFrame(list(Lease.objects.filter(attempt__session=session)
                              .values_list("attempt__student_id", "number", "started_at")),
                         schema={"person_id": pl.String, "lease": pl.Int64, "at": pl.Datetime("us", "UTC")}, orient="row")
    return {"arrivals": arrivals if arrivals.height else None, "contacts": contacts, "stops": stops, "opens": opens}


def paper_changes(session: TestSession) -> pl.DataFrame | None:
    """Erasures on ``session``'s answer sheets whose answers went into an attempt: the reader's
    rule (``junheng.supervision.changes_from_omr``) on each sheet's stored bubbles — for every item
    the sheet answers (after the reviewers' corrections; not a multiple mark) next to a faint bubble,
    a change from that bubble's value to the answer. None when the session has no such sheet.
    (``omr`` sits on this app's layer, so its sheets are reached through the session's relation.)"""
    from junheng.supervision import changes_from_omr

    cols = ("part", "key", "value", "state")
    bubbles = {c: [] for c in (*cols, "sheet")}
    responses = {c: [] for c in ("item_id", "raw", "sheet", "person_id")}
    for pk, pid, bub, answers in (session.omr_sheets.filter(status="read", attempt__isnull=False)
                                  .exclude(person_id="").values_list("pk", "person_id", "bubbles", "answers")):
        if not bub or not answers:
            continue
        for c in cols:
            bubbles[c] += bub[c]
        bubbles["sheet"] += [str(pk)] * len(bub["key"])
        responses["item_id"] += list(answers)
        responses["raw"] += [str(v) for v in answers.values()]
        responses["sheet"] += [str(pk)] * len(answers)
        responses["person_id"] += [pid] * len(answers)
    if not bubbles["sheet"]:
        return None
    return changes_from_omr(pl.DataFrame(bubbles, schema={c: pl.String for c in bubbles}),
                            pl.DataFrame(responses, schema={c: pl.String for c in responses})
                            .filter(~pl.col("raw").is_in(["", "*"])).with_columns(pl.lit("erased").alias("status")))


def session_forensics(session: TestSession, params=None) -> dict:
    """Gather ``session``'s inputs (:func:`forensic_inputs`) and store its forensic flags."""
    from junheng_web.supervision.services import run_forensics

    return run_forensics(session, forensic_inputs(session), params)
