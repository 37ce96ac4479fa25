"""Test sites and the test day: the only module of this app that calls the core (``junheng.materials``).

* :func:`sites_per_school` — the usual arrangement in one step: each participating sampled school
  is its own site, with one session per subject;
* :func:`late_sites` — sites whose test day is over while some of their pupils have no fitness data;
* :func:`site_pupil_list` — the list a test site downloads (masked by default), via sampling;
* :func:`session_pupils` / :func:`session_material` — who sits a session (the rule is
  ``sampling.services.sitting_q``) and its seating plan or login cards as PDF;
* :func:`store_login_codes` / :func:`check_login_code` / :func:`code_salt` / :func:`code_lookup` — the
  login codes printed on the cards, kept only as salted hashes and a keyed lookup HMAC (the pupils'
  sign-in in ``delivery`` finds a code by its lookup key, then checks the salted hash).
"""

from __future__ import annotations

import hashlib
import hmac
import tempfile
from datetime import timedelta
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from junheng.exceptions import ParameterError
from junheng.io import table_bytes
from junheng.materials import Room, cards_html, hash_code, login_codes, seating_html, seating_plan, write_pdf
from junheng_web.accounts.scoping import can
from junheng_web.assessment.models import BookletAssignment
from junheng_web.registry.models import Cycle
from junheng_web.sampling.models import SampledPupil, SampledSchool
from junheng_web.sampling.services import ACTIVE_SCHOOL, current_run, site_list, sitting_pupils
from junheng_web.testsites.models import LoginCode, TestSession, TestSite

LATE_AFTER = timedelta(hours=48)
MATERIALS = ("seating", "cards")


def find_session(cycle: Cycle, site_code: str, session: str, room: str | None = None) -> TestSession:
    """A test session by its site's code and its number (``#id``) or subject (and room, when the
    subject has several); none or several is a ParameterError listing the site's sessions."""
    site = TestSite.objects.filter(cycle=cycle, code=site_code).first()
    if site is None:
        raise ParameterError(f"{cycle} 没有测试点 {site_code} / no test site {site_code} in {cycle}")
    sessions = TestSession.objects.filter(site=site)
    chosen = sessions.filter(pk=int(session)) if session.isdigit() else sessions.filter(subject=session)
    if room:
        chosen = chosen.filter(room=room)
    found = list(chosen)
    if len(found) == 1:
        return found[0]
    listing = "; ".join(f"#{s.pk} {s.subject} {s.room} {s.starts_at:%Y-%m-%d %H:%M}" for s in sessions)
    what = "没有" if not found else "有多个"
    raise ParameterError(f"测试点 {site_code} {what}场次 {session!r} / site {site_code} has "
                         f"{'no' if not found else 'several'} session {session!r}; 场次 / sessions: {listing or '—'}")


def late_sites(cycle: Cycle, sites):
    """Those of ``sites`` whose last session ended more than 48 h ago while some of their sampled
    pupils still have no fitness record for the cycle."""
    cutoff = timezone.now() - LATE_AFTER
    ended = sites.annotate(last_end=Max("sessions__ends_at")).filter(last_end__lt=cutoff)
    missing = SampledPupil.objects.filter(cycle=cycle).exclude(pupil__fitness_records__cycle=cycle)
    return ended.filter(schools__pupils__in=missing.values("id")).distinct()


def sites_per_school(cycle: Cycle, starts_at, *, minutes: int = 60, counties=None) -> int:
    """Set up the usual arrangement in one step: each participating sampled school (of ``counties``,
    a Region queryset; default all) is its own test site (code ``T<学校标识码>``), with one session per
    subject of the cycle, all starting at ``starts_at`` (Henan tests the whole province in one
    half-day) and lasting ``minutes``. Schools that already serve a site are left alone, so a
    second run changes nothing. Returns the number of sites created."""
    active = (SampledSchool.objects.filter(ACTIVE_SCHOOL, cycle=cycle).exclude(test_sites__cycle=cycle)
              .select_related("school"))
    if counties is not None:
        active = active.filter(school__county__in=counties)
    schools = list(active.order_by("school__code"))
    if not schools:
        return 0
    ends_at = starts_at + timedelta(minutes=minutes)
    with transaction.atomic():
        sites = TestSite.objects.bulk_create([
            TestSite(cycle=cycle, county_id=s.school.county_id, code=f"T{s.school.code}",
                     name=f"{s.school.name}测试点", address=s.school.name) for s in schools])
        if not all(site.pk for site in sites):  # backends that do not return ids from bulk_create
            by_code = dict(TestSite.objects.filter(cycle=cycle, code__in=[t.code for t in sites])
                           .values_list("code", "pk"))
            for site in sites:
                site.pk = by_code[site.code]
        TestSite.schools.through.objects.bulk_create([
            TestSite.schools.through(testsite_id=site.pk, sampledschool_id=s.pk) for site, s in zip(sites, schools)])
        TestSession.objects.bulk_create([
            TestSession(site_id=site.pk, subject=subject, room=f"{k + 1:02d}", starts_at=starts_at, ends_at=ends_at)
            for site in sites for k, subject in enumerate(cycle.subjects or [])])
    return len(sites)


def site_pupil_list(cycle: Cycle, site: TestSite, *, unmask: bool = False) -> bytes:
    """The pupils of every school a test site serves, as one CSV (UTF-8 with BOM), masked by default."""
    frames = []
    for code in site.schools.values_list("school__code", flat=True).order_by("school__code"):
        f = site_list(cycle, code, unmask=unmask)
        frames.append(f.with_columns(pl.lit(code).alias("学校标识码")))
    if not frames:
        raise ParameterError("该测试点尚未分配参测学校 / the test site has no schools yet")
    return table_bytes(pl.concat(frames, how="diagonal_relaxed"), "csv")


def session_pupils(cycle: Cycle, session: TestSession) -> pl.DataFrame:
    """The pupils of a test session (``sampling.services.sitting_q``) in the cycle's current sample,
    with ``student_id, name, school_code, subject`` and ``booklet`` (when assigned)."""
    current_run(cycle)  # no sample yet: say so
    rows = list(sitting_pupils(cycle, session.site_id, session.subject)
                .values_list("pupil__student_id", "pupil__name", "sampled_school__school__code", "subject"))
    df = pl.DataFrame(rows, schema={"student_id": pl.String, "name": pl.String, "school_code": pl.String,
                                    "subject": pl.String}, orient="row")
    booklets = pl.DataFrame(list(BookletAssignment.objects.filter(cycle=cycle, student_id__in=df["student_id"].to_list())
                                 .values_list("student_id", "booklet__code")),
                            schema={"student_id": pl.String, "booklet": pl.String}, orient="row")
    return df.join(booklets, on="student_id", how="left").sort("student_id")


def _material_seed(cycle: Cycle, session: TestSession, what: str) -> int:
    """A stable seed per session that nobody can recompute without the server's SECRET_KEY (so the
    login codes on re-printed cards stay the same, and stay secret)."""
    digest = hashlib.sha256(f"{settings.SECRET_KEY}|{cycle.pk}|{session.pk}|{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _seating(cycle: Cycle, session: TestSession, pupils: pl.DataFrame, room: Room) -> pl.DataFrame:
    return seating_plan(pupils, [room], random_state=_material_seed(cycle, session, "seating"))


def session_seating(cycle: Cycle, session: TestSession, *, rows: int = 6, cols: int = 8) -> pl.DataFrame:
    """The printed seating plan of ``session`` (the same seats as its PDF: ``student_id, room, row,
    col, …``), for the response forensics' seat neighbours."""
    pupils = session_pupils(cycle, session)
    if pupils.height == 0:
        return pupils
    return _seating(cycle, session, pupils, Room(session.room or "1", rows, cols))


def session_material(cycle: Cycle, session: TestSession, kind: str, *, rows: int = 6, cols: int = 8,
                     unmask: bool = False, with_codes: bool = True) -> tuple[bytes, int]:
    """The seating plan or the login cards of one session as PDF bytes, and the number of pupils.
    Seats: the session's room of ``rows`` × ``cols``; names and 学籍号 masked unless ``unmask``.
    Cards print the login codes only ``with_codes`` (for roles that run the session: a code signs
    the pupil in, masked name or not)."""
    if kind not in MATERIALS:
        raise ParameterError(f"未知材料 / unknown material: {kind}")
    pupils = session_pupils(cycle, session)
    if pupils.height == 0:
        raise ParameterError("该场次没有学生 / no pupils of this subject at the site")
    site = session.site
    room = Room(session.room or "1", rows, cols)
    plan = _seating(cycle, session, pupils, room)
    meta = f"{site.name}（{site.code}） {session.subject} {timezone.localtime(session.starts_at):%Y-%m-%d %H:%M}"
    if kind == "seating":
        html = seating_html(plan, [room], title=f"{cycle.name} 座位表", meta=meta, unmask=unmask)
    else:
        codes = login_codes(plan["student_id"], random_state=_material_seed(cycle, session, "cards"))
        store_login_codes(session, codes)
        frame = plan.join(codes, on="student_id", how="left", maintain_order="left").with_columns(
            pl.lit(site.name).alias("site"))
        if not with_codes:
            frame = frame.with_columns(pl.lit(None, pl.String).alias("code"))
        html = cards_html(frame, title=f"{cycle.year} 学业质量监测 登录卡", unmask=unmask)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.pdf"
        write_pdf(html, path)
        return path.read_bytes(), plan.height


def may_run(user, session: TestSession) -> bool:
    """Whether ``user`` may run ``session`` — act in its console, unlock a pupil's browser, print its
    login codes: a role that runs sessions (``session.run``; where: the caller's ``restrict``), and a
    proctor only a session not assigned to another proctor (on a site node no session is assigned:
    the node's one proctor account runs them all)."""
    return can(user, "session.run") and not (user.role == "proctor" and session.proctor_id not in (None, user.pk))


def code_salt(session: TestSession) -> str:
    """The salt of a session's login-code hashes (one per session)."""
    return f"junheng-login|{session.site.cycle_id}|{session.pk}"


def normalise_code(code: str) -> str:
    """A code as the pupil may type it (lower case, spaces, dashes) in its printed form."""
    return (code or "").strip().upper().replace(" ", "").replace("-", "")


def _lookup_key() -> bytes:
    return hashlib.sha256(f"junheng-login-lookup|{settings.SECRET_KEY}".encode()).digest()


def code_lookup(code: str) -> str:
    """The indexed lookup key of a login code: hex HMAC-SHA-256 of the normalised code under a key
    derived from the server's ``SECRET_KEY``.  The same in every session (so one query finds it
    among all open sessions); without the secret nobody can test guesses against a copy of the
    table, unlike the salted hash, whose salt is not secret."""
    return hmac.new(_lookup_key(), normalise_code(code).encode(), hashlib.sha256).hexdigest()


def store_login_codes(session: TestSession, codes: pl.DataFrame) -> int:
    """Keep the hashes and lookup keys of a session's login codes (``student_id, code``); the same
    codes again change nothing.  Returns the number of pupils."""
    salt = code_salt(session)
    rows = [LoginCode(session=session, student_id=sid, code_hash=hash_code(code, salt), lookup=code_lookup(code))
            for sid, code in codes.select("student_id", "code").iter_rows()]
    LoginCode.objects.bulk_create(rows, update_conflicts=True, unique_fields=["session", "student_id"],
                                  update_fields=["code_hash", "lookup"])
    return len(rows)


def check_login_code(session: TestSession, student_id: str, code: str) -> bool:
    """Whether ``code`` is the login code printed for this pupil in this session."""
    stored = LoginCode.objects.filter(session=session, student_id=student_id).values_list("code_hash", flat=True).first()
    return stored is not None and hmac.compare_digest(stored, hash_code(normalise_code(code), code_salt(session)))
