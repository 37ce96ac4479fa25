"""The browser test: pupil sign-in by login code, the booklet as the browser sees it (never the
key), answers stored idempotently, submission, and the export of raw responses for scoring.

Sign-in: the pupil types the code printed on the login card.  Codes are stored only as a salted
hash, one salt per session (``testsites.services.code_salt``), and as a lookup key, an HMAC under
the server's secret (``testsites.services.code_lookup``).  The code's lookup key finds its rows in
one indexed query, kept to the sessions open now (from ``OPEN_BEFORE`` before their start to their
end), and the salted hash is then checked: a sign-in, right or wrong, costs the same whether ten
or thirty thousand sessions are open.  Rows stored before the lookup key existed (``lookup`` empty)
are still found the old way — the code hashed once per open session that has such rows — and get
their key on the first sign-in.  A pupil who signs in again (another browser, a closed tab) gets
the same attempt back, with the answers the server has.

Answers (issue 15.3): every change carries the time it was given (``at``: the browser's clock
corrected to the server's at page load, in ms) and its page's lease (``Lease``: one per load of
the test page).  A change is taken whenever it arrives if it was given inside the session window
and before time-up (the session's end, or the submission if earlier) and before a newer page of
the same attempt opened; its time is bounded by the moment the server receives it.  The current
answer to an item is the change with the highest ``(lease, seq)``, so a stale copy from the first
computer of a swap never overrides what the pupil gave on the second.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import unicodedata
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, F, Max
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from junheng.exceptions import ParameterError
from junheng.materials import hash_code
from junheng_web.assessment.models import (
    BlockItem,
    Booklet,
    BookletAssignment,
    BookletBlock,
    HumanScore,
    Item,
)
from junheng_web.delivery import proctor
from junheng_web.delivery.models import Answer, Attempt, Lease, PageContact
from junheng_web.testsites.models import LoginCode, TestSession
from junheng_web.testsites.services import code_lookup, code_salt, normalise_code

OPEN_BEFORE = dt.timedelta(minutes=15)  # pupils may sign in this long before the session starts
LATE_SIGN_IN = dt.timedelta(hours=6)  # sessions ended this recently are looked at for pupils with extra time
SIGNED_IN_AFTER = dt.timedelta(days=30)  # the page's cookie outlives the session: a queue may arrive late
MAX_RAW = 4000  # characters of one answer
MAX_BATCH = 500  # answers in one request
MAX_SEQ = 2**31 - 1  # the largest seq the column holds on every database (PositiveIntegerField)


def open_sessions(now: dt.datetime | None = None):
    now = now or timezone.now()
    return TestSession.objects.filter(starts_at__lte=now + OPEN_BEFORE, ends_at__gte=now).select_related("site")


def find_login(code: str, now: dt.datetime | None = None) -> LoginCode | None:
    """The login code row of an open session that ``code`` opens, or ``None`` (also when the code
    opens two open sessions: never guess which pupil typed it)."""
    code = normalise_code(code)
    if not code:
        return None
    now = now or timezone.now()
    # a session ended by the schedule is still open to a pupil whose extra time or pauses run on
    window = {"session__starts_at__lte": now + OPEN_BEFORE, "session__ends_at__gte": now - LATE_SIGN_IN}
    found = [lc for lc in LoginCode.objects.filter(lookup=code_lookup(code), **window).select_related("session__site")
             if hmac.compare_digest(lc.code_hash, hash_code(code, code_salt(lc.session)))]
    if not found:
        found = _find_unkeyed(code, window)
    found = [lc for lc in found if lc.session.ends_at >= now
             or proctor.window(lc.session, lc.student_id, now).end >= now]
    return found[0] if len(found) == 1 else None


def _find_unkeyed(code: str, window: dict) -> list[LoginCode]:
    """Rows without a lookup key — stored before the keys existed, or loaded on a site node (the
    centre's key stays at the centre): the code hashed once per session of ``window`` that has
    such rows (on a site node: a handful); a row found gets this server's lookup key."""
    legacy = set(LoginCode.objects.filter(lookup__isnull=True, **window).values_list("session_id", flat=True))
    if not legacy:  # the usual case: one indexed query (rows without a key) finds none
        return []
    hashes = {hash_code(code, code_salt(s)): s.pk for s in TestSession.objects.filter(pk__in=legacy).select_related("site")}
    keys, found = list(hashes), []
    for k in range(0, len(keys), 2000):
        found += [lc for lc in (LoginCode.objects.filter(code_hash__in=keys[k:k + 2000], lookup__isnull=True)
                                .select_related("session__site"))
                  if hashes.get(lc.code_hash) == lc.session_id]
    if len(found) == 1:
        LoginCode.objects.filter(pk=found[0].pk).update(lookup=code_lookup(code))
    return found


class SessionNotOpen(ParameterError):
    """A right login code whose session is not open now (not yet, or no longer)."""


def _closed_session(code: str, now: dt.datetime) -> str | None:
    """For a right code of a session that is not open now: when it opens, or that it has ended (the
    pupil who comes early is told to wait, not that the card is wrong).  ``None`` for a wrong code."""
    code = normalise_code(code)
    rows = [lc for lc in LoginCode.objects.filter(lookup=code_lookup(code)).select_related("session__site")
            if code and hmac.compare_digest(lc.code_hash, hash_code(code, code_salt(lc.session)))]
    if not rows and code:  # a site node's rows have no lookup key until first used: its day's sessions
        rows = _find_unkeyed(code, {"session__starts_at__lte": now + dt.timedelta(days=1),
                                    "session__ends_at__gte": now - dt.timedelta(days=1)})
    later = sorted(lc.session.starts_at for lc in rows if lc.session.starts_at > now + OPEN_BEFORE)
    if later:
        opens = timezone.localtime(later[0] - OPEN_BEFORE)
        day = "" if opens.date() == timezone.localtime(now).date() else f"{opens.month} 月 {opens.day} 日 "
        return (f"本场测试尚未开始，请在 {day}{opens:%H:%M} 以后登录（开考前 {OPEN_BEFORE.seconds // 60} 分钟开放）。 / "
                f"This test session is not open yet; sign in from {opens:%H:%M}.")
    if any(lc.session.ends_at < now for lc in rows):
        return "本场测试已经结束，不能再登录。 / This test session has ended."
    return None


def sign_in(code: str, now: dt.datetime | None = None) -> Attempt:
    """The pupil's attempt for the open session the code belongs to (created on first sign-in).

    Raises ``SessionNotOpen`` for a right code of a session not open now (when it opens, or that
    it has ended), ``ParameterError`` (bilingual message) for a wrong code, a pupil
    without a booklet of the session's subject, or an attempt already submitted."""
    now = now or timezone.now()
    login = find_login(code, now)
    if login is None:
        closed = _closed_session(code, now)
        if closed:
            raise SessionNotOpen(closed)
        raise ParameterError("登录码不正确，请核对登录卡后重新输入。 / The login code is wrong; please check the login card.")
    session = login.session
    assignment = (BookletAssignment.objects.filter(cycle_id=session.site.cycle_id, student_id=login.student_id)
                  .select_related("booklet").first())
    if assignment is None or assignment.booklet.subject != session.subject:
        raise ParameterError("没有为你分配本场测试的题本，请联系监考老师。 / "
                             "No booklet of this session's subject is assigned to you; please ask the proctor.")
    if proctor.window(session, login.student_id, now).state == "terminated":
        raise ParameterError("监考老师已终止你的测试，请联系监考老师。 / "
                             "The proctor has terminated your test; please ask the proctor.")
    attempt, _ = Attempt.objects.get_or_create(session=session, student_id=login.student_id,
                                               defaults={"booklet": assignment.booklet})
    if attempt.submitted_at is not None:
        raise ParameterError("你已经交卷，不能再次登录。 / You have already submitted this test.")
    return attempt


def pupil_name(attempt: Attempt) -> str:
    """The pupil's name masked (张**), for the pupil to confirm who signed in."""
    from junheng_web.registry.admin import mask_name
    from junheng_web.registry.models import Pupil

    name = Pupil.objects.filter(student_id=attempt.student_id).values_list("name", flat=True).first()
    return mask_name(name or "")


def booklet_items(booklet: Booklet) -> list[tuple[int, str, Item]]:
    """``(position, block code, item)`` of a booklet in order: blocks by slot, items by order in the block."""
    slots = list(BookletBlock.objects.filter(booklet=booklet).order_by("position").values_list("block_id", "block__code"))
    rows = BlockItem.objects.filter(block_id__in=[b for b, _ in slots]).select_related("item").order_by("order")
    by_block: dict[int, list[Item]] = {}
    for r in rows:
        by_block.setdefault(r.block_id, []).append(r.item)
    out, pos = [], 0
    for block_id, code in slots:
        for item in by_block.get(block_id, []):
            pos += 1
            out.append((pos, code, item))
    return out


def booklet_keys(booklet_id: int) -> dict[str, int]:
    """``item_id → Item.pk`` of a booklet's items in one query (every answer request needs them)."""
    return dict(BlockItem.objects.filter(block__bookletblock__booklet_id=booklet_id)
                .values_list("item__item_id", "item_id"))


def entry_format(item: Item) -> str:
    """How the page takes the answer: the item's format, or ``number`` for a constructed item with
    a key (numeric entry: a short text box, marked automatically by ``auto_mark``)."""
    return "number" if item.format == "constructed" and item.key else item.format


def browser_items(attempt: Attempt) -> list[dict]:
    """What the browser renders: stem, pictures, option texts, format — never the key, rubric or
    score map."""
    return [{"id": it.item_id, "position": pos, "block": block, "format": entry_format(it), "stem": it.stem,
             "media": [m for m in it.media if isinstance(m, str)],
             "options": list(it.options) if it.format != "constructed" else []}
            for pos, block, it in booklet_items(attempt.booklet)]


THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def number_text(raw: str) -> str | None:
    """A typed number in one canonical form (full-width digits, spaces, a decimal comma, a leading
    +, trailing zeros after the point, a fraction a/b, thousands in groups of three all allowed:
    "０.50" → "0.5", "3/4" → "0.75", "1,250" → "1250", "2,5" → "2.5");
    ``None`` when it is no number."""
    text = unicodedata.normalize("NFKC", raw or "").strip().replace(" ", "").replace("，", ",").replace("。", ".")
    if THOUSANDS.fullmatch(text):  # 1,250 (groups of three)
        text = text.replace(",", "")
    elif text.count(",") == 1 and "." not in text:  # 2,5 (a decimal comma)
        text = text.replace(",", ".")
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            value = Fraction(Decimal(num)) / Fraction(Decimal(den))
            value = Decimal(value.numerator) / Decimal(value.denominator)
        else:
            value = Decimal(text)
    except (InvalidOperation, ValueError, ZeroDivisionError):
        return None
    if not value.is_finite():
        return None
    out = format(value.normalize(), "f")
    return "0" if out in ("-0", "") else out


def auto_mark(key: str, answer: str) -> str:
    """The score code of a numeric-entry answer: "1" when it is the key's number, "0" otherwise,
    "" when blank."""
    if not (answer or "").strip():
        return ""
    given, wanted = number_text(answer), number_text(key)
    return "1" if given is not None and given == wanted else "0"


def current_answers(attempt: Attempt) -> dict[str, dict]:
    """``item_id → {raw, seq, lease}``: the change with the highest ``(lease, seq)`` of each item."""
    out: dict[str, dict] = {}
    for item_id, raw, seq, lease in (Answer.objects.filter(attempt=attempt).order_by("item_id", "lease", "seq")
                                     .values_list("item__item_id", "raw", "seq", "lease")):
        out[item_id] = {"raw": raw, "seq": seq, "lease": lease}
    return out


def max_seq(attempt: Attempt) -> int:
    return Answer.objects.filter(attempt=attempt).aggregate(m=Max("seq"))["m"] or 0


def cookie_until(attempt: Attempt) -> dt.datetime:
    """How long the browser keeps the attempt's cookie: long after the end, so that a queue given
    before time-up still reaches the server when its network comes back hours later."""
    return attempt.session.ends_at + SIGNED_IN_AFTER


def time_up(attempt: Attempt, now: dt.datetime | None = None, win=None) -> dt.datetime:
    """The end of the attempt: the session's end moved by the proctor's late start, pauses and the
    pupil's extra time (``proctor.window``), or the submission when earlier.  Answers given after
    it are refused, whenever they arrive; answers given before it are taken."""
    return ending((win or proctor.window(attempt.session, attempt.student_id, now)).end, attempt.submitted_at)


def ending(end: dt.datetime, submitted_at: dt.datetime | None) -> dt.datetime:
    """The attempt's end: the window's ``end``, or its submission when earlier."""
    return min(end, submitted_at) if submitted_at else end


def open_lease(attempt: Attempt, now: dt.datetime | None = None) -> int:
    """A new lease for a load of the test page (returns its number).  It closes the attempt's
    earlier leases: their changes given from now on are refused."""
    now = now or timezone.now()
    with transaction.atomic():
        Attempt.objects.filter(pk=attempt.pk).update(lease=F("lease") + 1)
        attempt.lease = Attempt.objects.filter(pk=attempt.pk).values_list("lease", flat=True).get()
        Lease.objects.create(attempt=attempt, number=attempt.lease, started_at=now)
    return attempt.lease


@dataclass(frozen=True)
class Change:
    id: uuid.UUID
    item_id: str
    raw: str
    seq: int
    at: dt.datetime | None = None  # when the pupil gave it (server's clock); None: when it arrives
    lease: int = 0


EARLIEST, LATEST = 946684800000, 4102444800000  # 2000-01-01 … 2100-01-01 in ms: anything else is no time


def parse_changes(payload) -> list[Change]:
    """The browser's queue (``[{id, item, raw, seq, at, lease}, …]``; ``at`` in ms since 1970 by the
    server's clock) checked; a malformed entry refuses the batch (an item id with a NUL too; a NUL
    in ``raw`` is dropped)."""
    if not isinstance(payload, list) or len(payload) > MAX_BATCH:
        raise ParameterError(f"作答格式错误 / malformed answers (a list of at most {MAX_BATCH})")
    out = []
    for k, e in enumerate(payload):
        try:
            at = e.get("at")
            at = None if at is None else int(at)
            # a NUL (pasted into a written answer) dropped: PostgreSQL stores none in text
            ch = Change(uuid.UUID(str(e["id"])), str(e["item"]), str(e.get("raw") or "").replace("\x00", ""),
                        int(e["seq"]), None, int(e.get("lease") or 0))
            if "\x00" in ch.item_id:
                raise ValueError(ch.item_id)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            raise ParameterError(f"第 {k + 1} 条作答格式错误 / answer {k + 1} is malformed "
                                 "(id: UUID, item, seq: whole number, at: ms, lease: whole number)") from None
        if (not 1 <= ch.seq <= MAX_SEQ or not 0 <= ch.lease <= MAX_SEQ or len(ch.raw) > MAX_RAW
                or (at is not None and not EARLIEST <= at <= LATEST)):
            raise ParameterError(f"第 {k + 1} 条作答无效 / answer {k + 1} is invalid "
                                 f"(1 ≤ seq ≤ {MAX_SEQ}, at most {MAX_RAW} characters, a time in ms)")
        if at is not None:
            ch = Change(ch.id, ch.item_id, ch.raw, ch.seq, dt.datetime.fromtimestamp(at / 1000, tz=dt.UTC), ch.lease)
        out.append(ch)
    return out


REFUSALS = {
    "late": "时间到之后作答的，不再接收。 / given after time-up (the session's end or the submission)",
    "early": "本场测试开始之前作答的，不接收。 / given before the session opened",
    "moved": "你已在另一台电脑（或刷新后的页面）上继续作答，本页面此后的作答不再接收。 / "
             "given on this page after the test was opened again on another computer or page",
    "lease": "页面编号无效，请重新登录。 / unknown page lease; please sign in again",
    "paused": "监考老师暂停了测试，暂停期间的作答不接收。 / given while the proctor had paused the test",
    "terminated": "监考老师终止了你的测试，此后的作答不接收。 / given after the proctor terminated the test",
}


@dataclass(frozen=True)
class Recorded:
    ack: list[str]  # stored now or before: the browser drops them from its queue
    refused: dict[str, str]  # id → reason (a key of REFUSALS): never to be taken, dropped too
    closed: bool  # time is up: the page takes no more changes
    ends_at: dt.datetime | None = None  # time-up now (extra time and pauses move it)
    state: str = ""  # the proctor's hold on the pupil: "" running, "paused", "terminated"


def record_answers(attempt: Attempt, changes: list[Change], now: dt.datetime | None = None) -> Recorded:
    """Store the changes given in time (a UUID already stored is skipped, so a replay is a no-op)
    and refuse, one by one, those given after time-up (``time_up``), before the session opened, or
    on a page after a newer page of the attempt opened (``Lease``).  A change's time is bounded by
    its arrival, so a browser clock ahead of the server cannot put an answer before time-up.  An
    item outside the pupil's booklet or a UUID of another attempt refuses the batch
    (``ParameterError``)."""
    now = now or timezone.now()
    win = proctor.window(attempt.session, attempt.student_id, now)
    end, opened = time_up(attempt, now, win), attempt.session.starts_at - OPEN_BEFORE
    if not changes:
        return Recorded([], {}, now > end, end, win.state)
    items = booklet_keys(attempt.booklet_id)
    outside = sorted({c.item_id for c in changes if c.item_id not in items})
    if outside:
        raise ParameterError(f"题本中没有这些题目 / items not in your booklet: {', '.join(outside[:10])}")
    return store_changes(attempt, changes, now=now, end=end, opened=opened, stopped=win.stopped_at, state=win.state,
                         make=lambda c, at: Answer(id=c.id, attempt=attempt, item_id=items[c.item_id], raw=c.raw,
                                                   seq=c.seq, lease=c.lease, client_at=at))


def store_changes(attempt: Attempt, changes: list[Change], *, now: dt.datetime, end: dt.datetime,
                  opened: dt.datetime, make, model=Answer, stopped=None, state: str = "") -> Recorded:
    """The queue's rule for any answers (the test's, the questionnaire's): each change is taken
    when given (bounded by ``now``) between ``opened`` and ``end``, on the newest page or before a
    newer page opened, and not while ``stopped(at)`` names a hold; ``make(change, at)`` builds its
    row of ``model``, stored with ``received_at = now`` (its arrival).  UUIDs already stored are
    skipped (a replay is a no-op, its first arrival kept); a UUID of another attempt refuses the
    batch.  Late arrival is taken, not refused (the page queues answers offline); the response
    forensics flag answers that arrived long after their stamps while the page was online
    (``junheng.supervision.arrivals``, with :func:`record_contact`'s heartbeats)."""
    # the times newer pages opened matter only for changes of an older page (the usual batch has none)
    older = any(c.lease < attempt.lease for c in changes)
    leases = dict(Lease.objects.filter(attempt=attempt).values_list("number", "started_at")) if older else {}
    keep, refused = [], {}
    for c in changes:
        at = min(c.at or now, now)
        closed_at = leases.get(c.lease + 1)  # the page opened after this one
        reason = ("lease" if c.lease > attempt.lease else "late" if at > end else "early" if at < opened
                  else "moved" if closed_at is not None and at > closed_at else stopped(at) if stopped else None)
        if reason:
            refused[str(c.id)] = reason
        else:
            row = make(c, at)
            row.received_at = now  # its arrival, beside its stamp: the backdated-answers rule compares them
            keep.append(row)
    ids = [c.id for c in changes]
    with transaction.atomic():
        model.objects.bulk_create(keep, ignore_conflicts=True)
        stored = set(model.objects.filter(id__in=ids).values_list("attempt_id", "id"))
        if any(a != attempt.pk for a, _ in stored):  # a UUID of another attempt: nothing of this batch kept
            transaction.set_rollback(True)
            raise ParameterError("作答编号冲突 / answer ids already used by another attempt")
    stored_ids = {i for _, i in stored}
    return Recorded([str(i) for i in ids if i in stored_ids], {k: v for k, v in refused.items()
                                                                if uuid.UUID(k) not in stored_ids}, now > end,
                    end, state)


PROMPT_S = 5.0  # a heartbeat counts when it arrives within this of the time the page stamped on it
STEP_SHARE = 0.5  # a span's recorded end moves only when it is older than this share of its gap


def poll_seconds() -> float:
    """The idle page's status poll period: the ``JUNHENG_PUPIL_POLL_SECONDS`` setting (from the
    environment variable of that name, checked when the settings load; default 10)."""
    return float(getattr(settings, "JUNHENG_PUPIL_POLL_SECONDS", 10))


def contact_gap_s() -> float:
    """Heartbeats at most this far apart are one span: 2.5 poll periods (the page skips a poll while
    it sends answers)."""
    return 2.5 * poll_seconds()


def record_contact(attempt: Attempt, lease: int, stamp_ms, now: dt.datetime | None = None) -> bool:
    """Record an idle page's heartbeat (``/test/status/?lease=n&at=ms``; ``at`` the page's stamp by
    the server's clock) when it arrived within ``PROMPT_S`` of its stamp: the span of the page
    (attempt, ``lease``) ending within :func:`contact_gap_s` is extended, else a span starts.
    Returns whether it counted (a missing or stale stamp does not: a request held up by a failing
    link proves nothing about when the page was online).  :func:`heartbeat` with the attempt's id
    and newest lease (the status poll calls it so, without an ``Attempt``)."""
    return heartbeat(attempt.pk, attempt.lease, lease, stamp_ms, now or timezone.now())


def db_time(value):
    """A datetime as a raw SQL parameter (SQLite keeps naive UTC text; PostgreSQL takes it as is)."""
    return connection.ops.adapt_datetimefield_value(value)


def aware(value) -> dt.datetime | None:
    """A datetime read by raw SQL as the ORM would return it (SQLite: naive in the connection's
    zone, or text where the column's type is lost; PostgreSQL: aware already)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value is None or timezone.is_aware(value) else timezone.make_aware(value, connection.timezone)


def heartbeat(attempt_id, opened: int, lease: int, stamp_ms, now: dt.datetime, newest=()) -> bool:
    """:func:`record_contact` of the attempt ``attempt_id`` whose newest lease is ``opened``;
    ``newest``: the page's newest span ending within the gap, ``(id, last_at)`` or ``None``, when
    the caller has read it (``delivery.poll.read``), else it is read here.

    Coarse by design, to spare the database a write a poll (168,000 idle pages at the centre): a
    span's recorded end moves only when it is older than ``STEP_SHARE`` × gap (12.5 s at the 10 s
    poll: one write in two polls, one in a burst of any length).  A heartbeat is one indexed
    ``SELECT`` of the page's newest span ending within the gap, then: none — a span starts
    (``INSERT``); one ending within the step — the heartbeat is covered, nothing is written; else
    its end moves (``UPDATE``, never backwards).  What that loses: a heartbeat at most a step after
    the recorded end is not stored, so a span's true end lies in [``last_at``, ``last_at`` + step] —
    a heartbeat is known to within 12.5 s at the 10 s poll — and ``beats`` counts the recorded
    heartbeats, not polls.  The span's promise stands — the page's heartbeats between ``first_at``
    and ``last_at`` were never more than ``gap_s`` apart (each continued a span whose recorded end
    was within gap_s, and the page's true last heartbeat is no earlier) — so the in-contact rule
    reads it unchanged and only catches less: a crafted answer whose only witness is a heartbeat in
    the unrecorded last step of a span is not flagged (never the other way round).

    Two first polls of one page at once (a double-clicked reload, two server processes) start one
    span, not two: the start locks the attempt's row (PostgreSQL; SQLite runs one writer at a time)
    and inserts only when no span of the page ends within the gap.  Raw SQL, three statements at
    most: the poll is the busiest request of a test day and the ORM's query building cost more than
    the database's work (docs/deploy.md, the status poll)."""
    try:
        stamp = int(stamp_ms)
    except (TypeError, ValueError):
        return False
    # a lease the attempt never opened names no page: not recorded (each would start a span of its own)
    if (not (EARLIEST <= stamp <= LATEST) or abs(now.timestamp() * 1000 - stamp) > PROMPT_S * 1000 or lease < 1
            or lease > opened):
        return False
    gap = contact_gap_s()
    table, page = PageContact._meta.db_table, [Attempt._meta.pk.get_db_prep_value(attempt_id, connection), lease, gap]
    since = db_time(now - dt.timedelta(seconds=gap))
    with connection.cursor() as cur:
        if newest == ():
            cur.execute(f"SELECT id, last_at FROM {table} WHERE attempt_id = %s AND lease = %s AND gap_s = %s "
                        "AND last_at <= %s AND last_at >= %s ORDER BY last_at DESC LIMIT 1", [*page, db_time(now), since])
            newest = cur.fetchone()
        if newest is None:
            with transaction.atomic():
                if connection.features.has_select_for_update:  # a concurrent first poll waits here, then sees our span
                    cur.execute(f"SELECT id FROM {Attempt._meta.db_table} WHERE id = %s FOR UPDATE", page[:1])
                cur.execute(f"INSERT INTO {table} (attempt_id, lease, first_at, last_at, beats, gap_s) "
                            f"SELECT %s, %s, %s, %s, 1, %s WHERE NOT EXISTS (SELECT 1 FROM {table} "
                            "WHERE attempt_id = %s AND lease = %s AND gap_s = %s AND last_at >= %s)",
                            [page[0], lease, db_time(now), db_time(now), gap, *page, since])
        elif aware(newest[1]) < now - dt.timedelta(seconds=STEP_SHARE * gap):
            cur.execute(f"UPDATE {table} SET last_at = %s, beats = beats + 1 WHERE id = %s AND last_at < %s",
                        [db_time(now), newest[0], db_time(now)])
    return True


def submit(attempt: Attempt, now: dt.datetime | None = None) -> Attempt:
    """Close the attempt (a second submit changes nothing)."""
    if attempt.submitted_at is None:
        Attempt.objects.filter(pk=attempt.pk, submitted_at__isnull=True).update(submitted_at=now or timezone.now())
        attempt.refresh_from_db()
    return attempt


RESPONSE_SCHEMA = {"person_id": pl.String, "item_id": pl.String, "raw": pl.String, "position": pl.Int64,
                   "text": pl.String}


def responses_frame(cycle, *, subject: str | None = None, pseudonymous: bool = False, held=()) -> pl.DataFrame:
    """The cycle's browser-test answers as the contract's raw responses, ready for
    ``junheng.assessment.score_responses``: ``person_id`` (学籍号), ``item_id``, ``raw``, ``position``
    (in the booklet) and ``text``.

    Every item of every attempt's booklet has a row, so blanks are visible: a blank (``raw`` "")
    followed by an answered item is *omitted*, blanks to the end are *not reached* (by position).
    Choice items: ``raw`` is the chosen letter(s).  Constructed responses: ``text`` is what the pupil
    typed and ``raw`` the scorer's code (``HumanScore``, the first marking) once marked; an answered
    but not yet marked response has no row (not administered) — it has no score yet.  Numeric entry
    (a constructed item with a key) is marked here: ``raw`` "1" when the typed number equals the
    key's (``number_text``), "0" otherwise.

    ``subject`` keeps one subject's sessions; ``pseudonymous`` puts the attempt's UUID in
    ``person_id`` instead of the 学籍号 (for files that leave the platform).  ``held``: (学籍号,
    subject) whose answers are left out — a pupil with answers in the browser and on a paper sheet
    in that subject, until a reviewer chooses which counts (the caller passes ``supervision.services.held_pupils``; see
    docs/methods/omr.md § one pupil, two channels)."""
    attempts = Attempt.objects.filter(session__site__cycle=cycle)
    if subject:
        attempts = attempts.filter(session__subject=subject)
    by_subject: dict[str, list[str]] = {}
    for student_id, held_subject in held:
        by_subject.setdefault(held_subject, []).append(student_id)
    for held_subject, ids in by_subject.items():  # each pupil in the subject of the flag only
        attempts = attempts.exclude(session__subject=held_subject, student_id__in=ids)
    booklets = {b.pk: b for b in Booklet.objects.filter(pk__in=attempts.values("booklet_id"))}
    layout = [{"booklet": bid, "item_id": it.item_id, "format": it.format, "position": pos, "key": it.key or None}
              for bid, b in booklets.items() for pos, _, it in booklet_items(b)]
    if not layout:
        return pl.DataFrame(schema=RESPONSE_SCHEMA)
    layout_df = pl.DataFrame(layout, schema={"booklet": pl.Int64, "item_id": pl.String, "format": pl.String,
                                             "position": pl.Int64, "key": pl.String})
    key = pl.col("attempt").str.replace_all("-", "")  # uuid as text: dashed (PostgreSQL) or hex (SQLite)
    who = pl.DataFrame(list(attempts.annotate(key=Cast("pk", CharField())).values_list("key", "student_id", "booklet_id")),
                       schema={"attempt": pl.String, "person_id": pl.String, "booklet": pl.Int64}, orient="row")
    changes = pl.DataFrame(list(Answer.objects.filter(attempt__in=attempts).annotate(key=Cast("attempt_id", CharField()))
                                .values_list("key", "item__item_id", "raw", "lease", "seq")),
                           schema={"attempt": pl.String, "item_id": pl.String, "raw": pl.String, "lease": pl.Int64,
                                   "seq": pl.Int64},
                           orient="row")
    who, changes = who.with_columns(key), changes.with_columns(key)
    latest = changes.sort("lease", "seq").group_by("attempt", "item_id").agg(pl.col("raw").last())
    marks = pl.DataFrame(list(HumanScore.objects.filter(cycle=cycle).order_by("created_at", "rater")
                              .values_list("student_id", "item__item_id", "score")),
                         schema={"person_id": pl.String, "item_id": pl.String, "mark": pl.Int64}, orient="row")
    marks = marks.group_by("person_id", "item_id", maintain_order=True).first()
    frame = (who.join(layout_df, on="booklet", how="inner")
             .join(latest, on=["attempt", "item_id"], how="left")
             .join(marks, on=["person_id", "item_id"], how="left")
             .with_columns(pl.col("raw").fill_null("").str.strip_chars().alias("answer")))
    constructed = pl.col("format") == "constructed"
    numeric = constructed & pl.col("key").is_not_null()
    pairs = frame.filter(numeric).select("key", "answer").unique()  # each distinct answer marked once
    pairs = pairs.with_columns(pl.Series("auto", [auto_mark(k, a) for k, a in pairs.iter_rows()], dtype=pl.String))
    frame = frame.join(pairs, on=["key", "answer"], how="left")
    marked = pl.col("auto")
    frame = frame.with_columns(
        pl.when(constructed).then(pl.col("answer")).otherwise(None).alias("text"),
        pl.when(~constructed).then(pl.col("answer"))
        .when(pl.col("answer") == "").then(pl.lit(""))
        .when(numeric).then(marked)
        .otherwise(pl.col("mark").cast(pl.String)).alias("raw"),
    ).filter(~constructed | (pl.col("raw").is_not_null()))
    if pseudonymous:
        frame = frame.with_columns(pl.col("attempt").alias("person_id"))
    return frame.select(list(RESPONSE_SCHEMA)).cast(RESPONSE_SCHEMA).sort("person_id", "position")
