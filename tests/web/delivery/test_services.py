"""The browser test's rules, checked against hand-worked cases: who may sign in and when, answers
idempotent on their UUID, last write wins by seq, submit closes — and the exported responses scored
by ``junheng.assessment.score_responses`` give the scores the hand key says."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import polars as pl
import pytest
from django.utils import timezone

from junheng.exceptions import ParameterError
from tests.web.delivery.conftest import CODE_A0, CODE_A4, CODE_B0

pytestmark = pytest.mark.django_db


def _ch(item, raw, seq, id=None, at=None, lease=0):
    from junheng_web.delivery.services import Change

    return Change(id or uuid.uuid4(), item, raw, seq, at, lease)


from junheng_web.delivery.services import SessionNotOpen  # noqa: E402


def test_a_code_opens_its_pupils_attempt_in_its_session(dw):
    from junheng_web.delivery.services import pupil_name, sign_in

    a = sign_in(CODE_A0.lower())  # typed in lower case, as pupils do
    assert a.session == dw.sessions["A"] and a.student_id == dw.pupils["A"][0].student_id
    assert a.booklet.code == "B1"
    assert pupil_name(a) == "A" + "*" * (len(dw.pupils["A"][0].name) - 1)
    assert sign_in(CODE_A0).pk == a.pk  # signing in again resumes the same attempt
    b = sign_in(CODE_B0)
    assert b.session == dw.sessions["B"] and b.student_id == dw.pupils["B"][0].student_id


@pytest.mark.parametrize("code", ["", "ACDEFGHK", "ACDEFGH", "' OR 1=1 --"])
def test_a_wrong_code_opens_nothing(dw, code):
    from junheng_web.delivery.services import sign_in

    with pytest.raises(ParameterError, match="登录码不正确"):
        sign_in(code)


def test_a_session_is_open_from_15_minutes_before_its_start_to_its_end(dw):
    from junheng_web.delivery.services import sign_in

    s = dw.sessions["A"]
    assert sign_in(CODE_A0, now=s.starts_at - dt.timedelta(minutes=14))
    assert sign_in(CODE_A0, now=s.ends_at - dt.timedelta(seconds=1))
    with pytest.raises(SessionNotOpen, match="尚未开始"):  # a right code too early: when to come back
        sign_in(CODE_A0, now=s.starts_at - dt.timedelta(minutes=16))
    with pytest.raises(SessionNotOpen, match="已经结束"):
        sign_in(CODE_A0, now=s.ends_at + dt.timedelta(seconds=1))


def test_a_right_code_too_early_says_when_the_session_opens(dw):
    """Issue 15.5: a pupil who comes early is told the time the session opens (15 minutes before its
    start, local time), not that the card is wrong; a wrong code at that time is still wrong."""
    from junheng_web.delivery.services import sign_in

    s = dw.sessions["A"]
    early = s.starts_at - dt.timedelta(hours=1)
    opens = timezone.localtime(s.starts_at - dt.timedelta(minutes=15))
    with pytest.raises(SessionNotOpen) as e:
        sign_in(CODE_A0, now=early)
    assert f"{opens:%H:%M}" in str(e.value) and "登录码不正确" not in str(e.value)
    with pytest.raises(SessionNotOpen, match="月"):  # another day: the date too
        sign_in(CODE_A0, now=early - dt.timedelta(days=1))
    with pytest.raises(ParameterError, match="登录码不正确") as wrong:
        sign_in("ACDEFGHK", now=early)
    assert not isinstance(wrong.value, SessionNotOpen)


def test_a_code_of_another_session_does_not_open_this_one(dw):
    """Codes are hashed with their session's salt: B's code stored for B says nothing about A,
    and when B is closed its code opens nothing even though A is open."""
    from junheng_web.delivery.services import sign_in
    from junheng_web.testsites.models import TestSession

    TestSession.objects.filter(pk=dw.sessions["B"].pk).update(starts_at=timezone.now() - dt.timedelta(days=2),
                                                               ends_at=timezone.now() - dt.timedelta(days=2, hours=-1))
    with pytest.raises(ParameterError):
        sign_in(CODE_B0)
    assert sign_in(CODE_A4).session == dw.sessions["A"]


def _open_sessions(dw, n):
    """``n`` more sessions of site A, open now, each with one login code of its own."""
    from junheng_web.testsites.models import LoginCode, TestSession
    from junheng_web.testsites.services import code_lookup

    a = dw.sessions["A"]
    TestSession.objects.bulk_create([TestSession(site=a.site, subject="数学", room=f"x{k}", starts_at=a.starts_at,
                                                        ends_at=a.ends_at) for k in range(n)])
    made = list(TestSession.objects.filter(room__startswith="x"))
    LoginCode.objects.bulk_create([LoginCode(session=s, student_id=f"P{k}", code_hash=f"{k:064x}",
                                             lookup=code_lookup(f"Z{k:07d}")) for k, s in enumerate(made)])
    return made


@pytest.mark.parametrize("code", [CODE_A4, "ACDEFGHK"])
def test_a_sign_in_costs_the_same_queries_however_many_sessions_are_open(dw, code, django_assert_max_num_queries):
    """The old sign-in hashed the code once per open session (0.7 s of CPU with 23,288 open); now
    a right or a wrong code is one indexed query for its rows and one for legacy sessions, with 2
    or with 300 sessions open (and no hashing per session: hash_code is called once at most)."""
    from unittest import mock

    from junheng_web.delivery import services

    def cost():
        with mock.patch.object(services, "hash_code", wraps=services.hash_code) as hashed:
            with django_assert_max_num_queries(2):
                found = services.find_login(code)
        return found, hashed.call_count

    few = cost()
    _open_sessions(dw, 300)
    many = cost()
    assert few[1] == many[1] <= 1
    assert (few[0] is None) == (many[0] is None) == (code != CODE_A4)
    if code == CODE_A4:
        assert many[0].student_id == dw.pupils["A"][4].student_id


def test_a_lookup_key_is_checked_against_the_salted_hash_and_the_window(dw):
    """A row whose lookup key matches but whose salted hash does not (a forged or stale key) opens
    nothing; a key of a closed session opens nothing; the key depends on the server secret."""
    from django.test import override_settings

    from junheng_web.delivery.services import find_login
    from junheng_web.testsites.models import LoginCode
    from junheng_web.testsites.services import code_lookup

    LoginCode.objects.filter(session=dw.sessions["A"], student_id=dw.pupils["A"][4].student_id).update(
        lookup=code_lookup("ACDEFGHK"))
    assert find_login("ACDEFGHK") is None
    assert find_login(CODE_A0) is not None
    s = dw.sessions["A"]
    assert find_login(CODE_A0, now=s.ends_at + dt.timedelta(seconds=1)) is None
    assert code_lookup("acdefghj") == code_lookup("ACDE-FGHJ") == code_lookup(CODE_A0)
    with override_settings(SECRET_KEY="another-secret-key-for-this-test-only-0123456789"):
        assert code_lookup(CODE_A0) != LoginCode.objects.get(session=s, student_id=dw.pupils["A"][0].student_id).lookup


def test_codes_stored_before_lookup_keys_still_sign_in_and_get_their_key(dw):
    """Migration: rows from before (``lookup`` empty) are found by the old per-session hashing,
    only for the open sessions that still have such rows; the first sign-in writes the key."""
    from junheng_web.delivery.services import find_login, sign_in
    from junheng_web.testsites.models import LoginCode
    from junheng_web.testsites.services import code_lookup

    LoginCode.objects.update(lookup=None)
    assert find_login("ACDEFGHK") is None
    a = sign_in(CODE_A4)
    assert a.student_id == dw.pupils["A"][4].student_id
    row = LoginCode.objects.get(session=dw.sessions["A"], student_id=a.student_id)
    assert row.lookup == code_lookup(CODE_A4)
    assert LoginCode.objects.filter(lookup__isnull=True).count() == 2  # the others keep the old path
    assert sign_in(CODE_B0).session == dw.sessions["B"]


def test_a_pupil_without_a_booklet_is_told_to_ask_the_proctor(dw):
    from junheng_web.assessment.models import BookletAssignment
    from junheng_web.delivery.services import sign_in

    BookletAssignment.objects.filter(student_id=dw.pupils["A"][4].student_id).delete()
    with pytest.raises(ParameterError, match="监考"):
        sign_in(CODE_A4)


def test_answers_are_idempotent_on_their_uuid_and_last_write_wins_by_seq(dw):
    from junheng_web.delivery.models import Answer
    from junheng_web.delivery.services import current_answers, record_answers, sign_in

    a = sign_in(CODE_A0)
    first, second, third = _ch("I1", "A", 1), _ch("I1", "C", 2), _ch("I1", "B", 3)
    # the newest change arrives first (an old queue is replayed late): seq decides, not arrival
    assert record_answers(a, [third]).ack == [str(third.id)]
    assert record_answers(a, [first, second]).ack == [str(first.id), str(second.id)]
    assert current_answers(a) == {"I1": {"raw": "B", "seq": 3, "lease": 0}}
    # the same batch again (a replay after a lost acknowledgement) changes nothing
    assert record_answers(a, [first, second, third]).ack == [str(first.id), str(second.id), str(third.id)]
    assert Answer.objects.filter(attempt=a).count() == 3
    assert current_answers(a) == {"I1": {"raw": "B", "seq": 3, "lease": 0}}


def test_an_item_outside_the_booklet_or_a_foreign_uuid_refuses_the_batch(dw):
    from junheng_web.delivery.models import Answer
    from junheng_web.delivery.services import record_answers, sign_in

    a, b = sign_in(CODE_A0), sign_in(CODE_A4)
    with pytest.raises(ParameterError, match="I9"):
        record_answers(a, [_ch("I1", "A", 1), _ch("I9", "A", 2)])
    assert Answer.objects.count() == 0
    taken = _ch("I1", "A", 1)
    record_answers(b, [taken])
    with pytest.raises(ParameterError, match="冲突"):
        record_answers(a, [_ch("I2", "A", 1), taken])
    assert Answer.objects.filter(attempt=a).count() == 0  # nothing of the batch kept
    assert Answer.objects.get(id=taken.id).attempt == b


def test_malformed_queues_are_refused_with_a_message(dw):
    from junheng_web.delivery.services import parse_changes

    ok = parse_changes([{"id": str(uuid.uuid4()), "item": "I1", "raw": "A", "seq": 1}])
    assert ok[0].item_id == "I1" and ok[0].seq == 1
    for bad in (None, {}, [{"id": "x", "item": "I1", "seq": 1}], [{"id": str(uuid.uuid4()), "item": "I1", "seq": 0}],
                [{"id": str(uuid.uuid4()), "item": "I1", "raw": "x" * 5000, "seq": 1}]):
        with pytest.raises(ParameterError):
            parse_changes(bad)


def test_submit_closes_the_attempt_for_answers_given_after_it(dw):
    """After the submission (from this or another computer) no answer given later is taken; one
    given before it that arrives afterwards (a queue of the first computer) still is."""
    from junheng_web.delivery.services import current_answers, record_answers, sign_in, submit

    a = sign_in(CODE_A0)
    record_answers(a, [_ch("I1", "B", 1)])
    given = timezone.now()
    submit(a, now=given + dt.timedelta(seconds=1))
    stamp = a.submitted_at
    assert stamp is not None and submit(a).submitted_at == stamp  # a second submit changes nothing
    after, before = _ch("I1", "C", 2), _ch("I2", "A", 3, at=given)
    done = record_answers(a, [after, before], now=given + dt.timedelta(minutes=30))
    assert done.ack == [str(before.id)] and done.refused == {str(after.id): "late"} and done.closed
    assert current_answers(a)["I1"]["raw"] == "B" and current_answers(a)["I2"]["raw"] == "A"
    with pytest.raises(ParameterError, match="已经交卷"):
        sign_in(CODE_A0)


def test_answers_given_before_time_up_are_taken_whenever_they_arrive(dw):
    """Given a second before the end and arriving 3 hours later (a network down past the end,
    a site node restarted): taken.  Given after the end: refused, as is one given before the
    session opened.  A browser clock ahead of the server cannot push a change past its arrival:
    one stamped an hour in the future, arriving before the end, counts as given on arrival."""
    from junheng_web.delivery.services import OPEN_BEFORE, current_answers, record_answers, sign_in

    a = sign_in(CODE_A0)
    s = dw.sessions["A"]
    end = s.ends_at
    in_time, late = _ch("I1", "B", 1, at=end - dt.timedelta(seconds=1)), _ch("I2", "A", 2, at=end + dt.timedelta(seconds=1))
    early = _ch("I4", "A", 3, at=s.starts_at - OPEN_BEFORE - dt.timedelta(seconds=1))
    done = record_answers(a, [in_time, late, early], now=end + dt.timedelta(hours=3))
    assert done.ack == [str(in_time.id)] and done.refused == {str(late.id): "late", str(early.id): "early"}
    assert done.closed
    ahead = _ch("I4", "B", 4, at=end + dt.timedelta(hours=1))
    assert record_answers(a, [ahead], now=end - dt.timedelta(minutes=1)).ack == [str(ahead.id)]
    from junheng_web.delivery.models import Answer

    assert Answer.objects.get(id=ahead.id).client_at == end - dt.timedelta(minutes=1)
    # without a time (an old page), the arrival is the time given
    nameless = _ch("I2", "C", 5)
    assert record_answers(a, [nameless], now=end + dt.timedelta(seconds=1)).refused == {str(nameless.id): "late"}
    assert current_answers(a) == {"I1": {"raw": "B", "seq": 1, "lease": 0}, "I4": {"raw": "B", "seq": 4, "lease": 0}}


def test_after_a_computer_swap_a_stale_copy_never_overrides_a_newer_answer(dw):
    """Computer 1 (lease 1) answers I1 "A" up to seq 20, of which the server has seq 1..10 when the
    pupil moves to computer 2 (lease 2, whose counter starts at the server's 10).  Computer 2
    answers I1 "C" at seq 11.  Then computer 1's queue arrives: its I1 "B" seq 20 (given before
    the swap) is taken but does not override computer 2's "C"; its I2 given before the swap counts
    (computer 2 never answered I2); its I3 given after the swap is refused ("moved")."""
    from junheng_web.delivery.services import (
        current_answers,
        open_lease,
        record_answers,
        responses_frame,
        sign_in,
    )

    a = sign_in(CODE_A0)
    t0 = timezone.now() - dt.timedelta(minutes=3)
    first = open_lease(a, now=t0)
    record_answers(a, [_ch("I1", "A", k, at=t0 + dt.timedelta(seconds=k), lease=first) for k in range(1, 11)])
    swap = t0 + dt.timedelta(minutes=1)
    second = open_lease(a, now=swap)
    assert (first, second) == (1, 2) and a.lease == 2
    record_answers(a, [_ch("I1", "C", 11, at=swap + dt.timedelta(seconds=5), lease=second)])
    stale = [_ch("I1", "B", 20, at=swap - dt.timedelta(seconds=2), lease=first),
             _ch("I2", "D", 19, at=swap - dt.timedelta(seconds=3), lease=first),
             _ch("I3", "写在第一台电脑上", 21, at=swap + dt.timedelta(seconds=9), lease=first)]
    done = record_answers(a, stale)
    assert done.ack == [str(stale[0].id), str(stale[1].id)] and done.refused == {str(stale[2].id): "moved"}
    now = current_answers(a)
    assert now["I1"] == {"raw": "C", "seq": 11, "lease": 2} and now["I2"]["raw"] == "D" and "I3" not in now
    frame = responses_frame(dw.cycle).filter(pl.col("person_id") == a.student_id)
    assert dict(zip(frame["item_id"], frame["raw"]))["I1"] == "C"
    forged = _ch("I4", "A", 22, lease=7)  # a lease the server never opened
    assert record_answers(a, [forged]).refused == {str(forged.id): "lease"}


def test_the_exported_responses_score_as_the_hand_key_says(dw):
    """Pupil A0: I1 "B" (key B → 1), I2 "CA" (= AC, full credit → 2), I3 and I4 blank at the end →
    not reached.  Pupil A4: I1 "A" (→ 0), I2 blank then later answers → omitted (0), I3 written and
    marked 1 by a scorer, I4 "A" (key A → 1)."""
    from junheng.assessment import score_responses
    from junheng_web.assessment.models import HumanScore
    from junheng_web.assessment.services import bank_from_db
    from junheng_web.delivery.services import record_answers, responses_frame, sign_in

    a0, a4 = sign_in(CODE_A0), sign_in(CODE_A4)
    record_answers(a0, [_ch("I1", "C", 1), _ch("I1", "B", 2), _ch("I2", "CA", 3), _ch("I3", "", 4)])
    record_answers(a4, [_ch("I1", "A", 1), _ch("I2", "B", 2), _ch("I2", "", 3), _ch("I3", "秋高气爽。", 4),
                        _ch("I4", "A", 5)])
    frame = responses_frame(dw.cycle)
    s0, s4 = a0.student_id, a4.student_id
    # I3 of A4 is written but not yet marked: no row (it has no score yet); its text is kept
    assert frame.filter(pl.col("person_id") == s4)["item_id"].to_list() == ["I1", "I2", "I4"]
    HumanScore.objects.create(cycle=dw.cycle, student_id=s4, item=dw.delivery["items"]["I3"], rater="r1", score=1)
    HumanScore.objects.create(cycle=dw.cycle, student_id=s4, item=dw.delivery["items"]["I3"], rater="r2", score=2)
    frame = responses_frame(dw.cycle)
    assert frame.columns == ["person_id", "item_id", "raw", "position", "text"]
    assert frame.filter((pl.col("person_id") == s4) & (pl.col("item_id") == "I3"))["text"].item() == "秋高气爽。"
    scored = score_responses(frame, bank_from_db("语文"))
    got = {(r["person_id"], r["item_id"]): (r["status"], r["score"]) for r in scored.iter_rows(named=True)}
    assert got == {
        (s0, "I1"): ("valid", 1), (s0, "I2"): ("valid", 2),
        (s0, "I3"): ("not_reached", None), (s0, "I4"): ("not_reached", None),
        (s4, "I1"): ("valid", 0), (s4, "I2"): ("omitted", 0), (s4, "I3"): ("valid", 1), (s4, "I4"): ("valid", 1),
    }


def test_no_answer_key_reaches_the_browser(dw):
    from junheng_web.delivery.services import browser_items, sign_in

    items = browser_items(sign_in(CODE_A0))
    assert [i["id"] for i in items] == ["I1", "I2", "I3", "I4"] and [i["position"] for i in items] == [1, 2, 3, 4]
    assert all(set(i) == {"id", "position", "block", "format", "stem", "options", "media"} for i in items)


@pytest.mark.parametrize(("typed", "canonical"), [
    ("36", "36"), (" ３６ ", "36"), ("36.0", "36"), ("+36", "36"), ("0.50", "0.5"), (".5", "0.5"), ("2,5", "2.5"),
    ("1,250", "1250"), ("3/4", "0.75"), ("-0", "0"), ("1e2", "100"), ("", None), ("三十六", None), ("1/0", None),
    ("nan", None), ("inf", None), ("12cm", None)])
def test_a_typed_number_has_one_canonical_form(typed, canonical):
    from junheng_web.delivery.services import number_text

    assert number_text(typed) == canonical


def test_a_numeric_entry_item_is_marked_by_its_key_and_its_key_never_leaves(dw):
    """I3 re-keyed as numeric entry (a constructed item with key 2.5): the page gets a number box
    and no key; "2.50" scores 1, "25" scores 0, blank at the end is not reached."""
    from junheng.assessment import score_responses
    from junheng_web.assessment.models import Item
    from junheng_web.assessment.services import bank_from_db
    from junheng_web.delivery.services import browser_items, record_answers, responses_frame, sign_in

    Item.objects.filter(item_id="I3").update(key="2.5", max_score=1, stem="一根绳子长 5 米，对折后长多少米？")
    a0, a4 = sign_in(CODE_A0), sign_in(CODE_A4)
    i3 = next(i for i in browser_items(a0) if i["id"] == "I3")
    assert i3["format"] == "number" and "2.5" not in json.dumps(i3)
    record_answers(a0, [_ch("I1", "B", 1), _ch("I3", "2.50", 2), _ch("I4", "A", 3)])
    record_answers(a4, [_ch("I1", "B", 1), _ch("I3", "25", 2), _ch("I4", "A", 3)])
    frame = responses_frame(dw.cycle)
    got = {(r["person_id"], r["item_id"]): (r["raw"], r["text"]) for r in frame.iter_rows(named=True)}
    assert got[(a0.student_id, "I3")] == ("1", "2.50") and got[(a4.student_id, "I3")] == ("0", "25")
    scored = score_responses(frame, bank_from_db("语文"))
    s = {(r["person_id"], r["item_id"]): r["score"] for r in scored.iter_rows(named=True)}
    assert (s[(a0.student_id, "I3")], s[(a4.student_id, "I3")]) == (1, 0)


def test_a_nul_character_in_an_answer_is_dropped_and_in_an_item_refused(dw):
    """PostgreSQL stores no NUL in text (psycopg raises DataError: a 500, and the page's queue would
    resend the batch for ever): a NUL pasted into a written answer is dropped, the rest of the
    answer kept; an item id with one names no item and refuses the batch with a message."""
    from junheng_web.delivery.services import parse_changes

    (ch,) = parse_changes([{"id": str(uuid.uuid4()), "item": "I3", "raw": "秋\x00天", "seq": 1}])
    assert ch.raw == "秋天"
    with pytest.raises(ParameterError):
        parse_changes([{"id": str(uuid.uuid4()), "item": "I\x003", "raw": "A", "seq": 1}])
