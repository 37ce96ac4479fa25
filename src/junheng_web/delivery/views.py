"""The pupil's side of the browser test (no Django account): sign in with the login card's code,
confirm who you are, take the test, the answers API and the final submit.

The pupil is identified only by a signed cookie holding the attempt's UUID (``COOKIE``), so a
pupil's requests can only ever reach that one attempt: there is no id in any URL to change.
Failed sign-ins are throttled per browser, per code prefix and (with a high ceiling) per address,
apart from the staff's sign-in (``delivery.throttle``); a proctor unlocks a locked browser.
"""

from __future__ import annotations

import functools
import json
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from junheng.exceptions import InputError, ParameterError
from junheng.site import pupil_window
from junheng_web.accounts.audit import audit, client_ip
from junheng_web.accounts.scoping import require, restrict
from junheng_web.delivery import poll, proctor, questionnaire, services, throttle
from junheng_web.delivery.models import Attempt, ProctorEvent
from junheng_web.delivery.result_records import is_uuid
from junheng_web.locale import in_language
from junheng_web.testsites.models import TestSession
from junheng_web.testsites.services import may_run, session_pupils

COOKIE = "junheng_attempt"
SALT = "junheng.delivery.attempt"
BROWSER = "junheng_browser"  # a random id per browser: the unit of the sign-in throttle
BROWSER_SALT = "junheng.delivery.browser"
PUPIL_LANGUAGE = "zh-hans"


def pupil_page(view):
    """The pupil's pages are in Chinese only (issue 15.5: no language switch for 11-year-olds),
    whatever language the browser or a staff cookie asks for."""
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        with translation.override(PUPIL_LANGUAGE):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        response["Content-Language"] = PUPIL_LANGUAGE
        return response
    return wrapped


def chinese(message: str) -> str:
    """The Chinese half of a bilingual ``中文 / English`` message, for the pupil."""
    return in_language(message, "zh-hans")


def _attempt(request: HttpRequest) -> Attempt | None:
    """The pupil's attempt named by the signed cookie, its session, site, cycle and booklet joined
    (the idle poll reads its own: ``delivery.poll``)."""
    value = request.get_signed_cookie(COOKIE, default=None, salt=SALT)
    if not value:
        return None
    if not is_uuid(value):
        return None
    try:  # get, not first(): no ORDER BY to compile on every answer request
        return Attempt.objects.select_related("session__site__cycle", "booklet").get(pk=value)
    except Attempt.DoesNotExist:
        return None


def _forget(response: HttpResponse) -> HttpResponse:
    response.delete_cookie(COOKIE, samesite="Strict")
    return response


def _browser(request: HttpRequest) -> str:
    value = request.get_signed_cookie(BROWSER, default=None, salt=BROWSER_SALT)
    if not (value and len(value) == 32 and all(ch in "0123456789abcdef" for ch in value)):
        value = throttle.new_browser()
    return value


def _with_browser(request: HttpRequest, response: HttpResponse, browser: str) -> HttpResponse:
    response.set_signed_cookie(BROWSER, browser, salt=BROWSER_SALT, max_age=7 * 24 * 3600, httponly=True,
                               samesite="Strict", secure=request.is_secure())
    return response


@pupil_page
@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    """/test/: the pupil types the login code from the card."""
    browser = _browser(request)
    if request.method == "GET":
        return _with_browser(request, render(request, "delivery/signin.html", {}), browser)
    ip, code = client_ip(request), request.POST.get("code", "")
    if throttle.is_locked(browser, ip, code):
        return _with_browser(request, render(request, "delivery/signin.html", {
            "error": _("登录失败次数过多，请 15 分钟后再试，或请监考老师帮助。"),
            "unlock": throttle.unlock_number(browser)}, status=429), browser)
    try:
        attempt = services.sign_in(code)
    except services.SessionNotOpen as e:  # a right code, too early or too late: not a guess
        return _with_browser(request, render(request, "delivery/signin.html", {"error": chinese(str(e)),
                                                                              "not_open": True}, status=400), browser)
    except ParameterError as e:
        throttle.record_failure(browser, ip, code)
        return _with_browser(request, render(request, "delivery/signin.html", {"error": chinese(str(e))}, status=400),
                             browser)
    audit(request, "test.signin", f"attempt {attempt.pk} session {attempt.session_id}", rows=1,
          region_code=attempt.session.site.county.code)
    response = _with_browser(request, redirect("delivery_confirm"), browser)
    max_age = int((services.cookie_until(attempt) - timezone.now()).total_seconds())
    response.set_signed_cookie(COOKIE, str(attempt.pk), salt=SALT, max_age=max(60, max_age), httponly=True,
                               samesite="Strict", secure=request.is_secure())
    return response


@pupil_page
def confirm(request: HttpRequest) -> HttpResponse:
    """Who signed in (name masked) and which test: the pupil confirms before starting."""
    attempt = _attempt(request)
    if attempt is None:
        return _forget(redirect("delivery_signin"))
    return render(request, "delivery/confirm.html", {
        "attempt": attempt, "name": services.pupil_name(attempt), "session": attempt.session,
        "n_items": len(services.booklet_items(attempt.booklet))})


@pupil_page
def take(request: HttpRequest) -> HttpResponse:
    """The test page: items (no keys), the server's answers and time-up, as JSON for delivery.js.
    Every load opens a new lease (``services.open_lease``): the attempt's earlier pages — another
    computer, a tab before a reload — take no more changes from now on."""
    attempt = _attempt(request)
    if attempt is None:
        return _forget(redirect("delivery_signin"))
    if attempt.submitted_at is not None:
        q = questionnaire.pending(attempt)
        if q is None:
            return render(request, "delivery/done.html", {"attempt": attempt})
        return _questionnaire_page(request, attempt, q)
    now = timezone.now()
    win = proctor.window(attempt.session, attempt.student_id, now)
    end = services.time_up(attempt, now, win)
    lease = services.open_lease(attempt, now) if now <= end else attempt.lease
    data = {"attempt": str(attempt.pk), "subject": attempt.session.subject, "lease": lease, "hold": win.state,
            "ends_at": end.isoformat(), "now": now.isoformat(),
            "items": services.browser_items(attempt), "answers": services.current_answers(attempt),
            "max_seq": services.max_seq(attempt), "status_url": reverse("delivery_status"),
            "poll_ms": int(services.poll_seconds() * 1000)}
    return render(request, "delivery/take.html", {"attempt": attempt, "data": data, "text": _page_text()})


def _questionnaire_page(request: HttpRequest, attempt: Attempt, q) -> HttpResponse:
    """The student questionnaire after the test (issue 15.6): the same page and queue as the
    test's, its own answers and end (``delivery.questionnaire``)."""
    now = timezone.now()
    ends = questionnaire.closes_at(attempt, now)
    lease = services.open_lease(attempt, now) if now <= ends else attempt.lease
    data = {"attempt": str(attempt.pk), "mode": "questionnaire", "subject": q.title, "lease": lease,
            "ends_at": ends.isoformat(), "now": now.isoformat(), "items": questionnaire.browser_items(q),
            "answers": questionnaire.current(attempt, q), "max_seq": questionnaire.max_seq(attempt, q),
            "answers_url": reverse("delivery_q_answers"), "submit_url": reverse("delivery_q_submit")}
    text = {**_page_text(), "confirm_submit": _("确定提交问卷吗？提交后不能再修改。"),
            "unanswered": _("还有 %(n)s 道题未回答。"), "wait_sync": _("还有回答未同步，请保持网络连接后再提交。"),
            "time_up": _("问卷时间到，正在提交。"), "closed": _("问卷时间已到，不能再回答。请等待监考老师的指示。")}
    return render(request, "delivery/take.html", {"attempt": attempt, "data": data, "text": text,
                                                  "questionnaire": q})


def _page_text() -> dict[str, str]:
    """The words delivery.js shows, in the page's language."""
    return {
        "saved": _("已保存"), "unsynced": _("未同步 %(n)s 条"), "offline": _("网络已断开，作答保存在本机，恢复后自动同步"),
        "position": _("第 %(k)s 题，共 %(n)s 题"), "flagged": _("已标记"), "flag": _("标记待检查"),
        "confirm_submit": _("确定交卷吗？交卷后不能再修改。"), "unanswered": _("还有 %(n)s 道题未作答。"),
        "wait_sync": _("还有作答未同步，请保持网络连接后再交卷。"), "time_up": _("时间到，正在提交作答。"),
        "answer_here": _("在此作答"), "closed": _("时间到，本场测试已结束，不能再作答。请等待监考老师的指示。"),
        "moved": _("你已在另一台电脑或新的页面上继续作答，请在那里作答。本页面不再接收作答。"),
        "refused": _("有 %(n)s 条作答未被接收（时间到之后或在另一台电脑登录之后作出的）。"),
        "figure": _("图 %(k)s"), "number_here": _("填写数值："),
        "paused": _("暂停中，请等待监考老师的指示。已作答的内容保存在本机，恢复后可以继续作答。"),
        "terminated": _("你的测试已被监考老师终止，不能再作答。请听从监考老师的指示。"),
    }


SERVICE_WORKER = Path(__file__).resolve().parents[1] / "static" / "junheng" / "delivery-sw.js"


def service_worker(request: HttpRequest) -> HttpResponse:
    """/test/sw.js: the test page's service worker (``delivery-sw.js``), served under /test/ so that
    its scope is the pupil's pages; never cached by the browser's HTTP cache, so an update reaches
    the next page load."""
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


def _json_body(request: HttpRequest):
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ParameterError("请求格式错误 / malformed request") from None


OTHER_PUPIL = ("这些作答属于另一名学生的测试，未保存。 / these answers belong to another pupil's test: not stored")


def _own_batch(body: dict, attempt: Attempt) -> bool:
    """Whether a batch is the cookie's attempt's: the batch names its attempt (``attempt``; the
    page and the service worker send it) — on a shared computer the service worker may send a
    queue a previous pupil's closed tab left, with the cookie of the pupil signed in now.  A batch
    without the name (a page loaded before it was sent) is taken as the cookie's."""
    named = body.get("attempt")
    return named in (None, "") or str(named) == str(attempt.pk)


def _queue(request: HttpRequest, record) -> JsonResponse:
    """One batch of a page's queue: ``{"attempt": id, "lease": n, "answers": [{id, item, raw, seq, at, lease}, …]}``
    (a batch naming another attempt than the cookie's: 409, nothing stored)
    → ``{"ack": [id, …], "refused": {id: reason}, "closed": time is up, "moved": a newer page of the
    attempt is open, "ends_at", "hold", "now"}``; ``record(attempt, changes)`` stores it (``None`` when
    the attempt has nothing to record into).  Every entry is either acknowledged or refused, so the
    queue always drains."""
    attempt = _attempt(request)
    if attempt is None:
        return JsonResponse({"error": "请重新登录。 / Please sign in again."}, status=403)
    try:
        body = _json_body(request)
        changes = services.parse_changes(body.get("answers") if isinstance(body, dict) else None)
        page = int(body.get("lease") or 0)
        if not _own_batch(body, attempt):
            return JsonResponse({"error": OTHER_PUPIL}, status=409)
        done = record(attempt, changes)
    except (ParameterError, TypeError, ValueError) as e:
        message = str(e) if isinstance(e, ParameterError) else "请求格式错误 / malformed request (lease)"
        return JsonResponse({"error": message}, status=400)
    if done is None:
        return JsonResponse({"error": "请重新登录。 / Please sign in again."}, status=403)
    return JsonResponse({"ack": done.ack, "refused": done.refused, "closed": done.closed,
                         "moved": page < attempt.lease,
                         "ends_at": done.ends_at.isoformat() if done.ends_at else None, "hold": done.state,
                         "now": timezone.now().isoformat()})


def _page_lease(request: HttpRequest) -> int:
    """The lease a submitting page says it has (0: none given)."""
    try:
        body = _json_body(request)
        return int(body.get("lease") or 0) if isinstance(body, dict) else 0
    except (ParameterError, TypeError, ValueError):
        return 0


@pupil_page
@require_POST
def answers(request: HttpRequest) -> JsonResponse:
    """The test's queue (``_queue``, ``services.record_answers``)."""
    return _queue(request, services.record_answers)


def _record_questionnaire(attempt: Attempt, changes):
    q = questionnaire.for_attempt(attempt)
    return None if q is None else questionnaire.record(attempt, q, changes)


@pupil_page
@require_POST
def questionnaire_answers(request: HttpRequest) -> JsonResponse:
    """The questionnaire's queue (``_queue``, ``delivery.questionnaire.record``)."""
    return _queue(request, _record_questionnaire)


@pupil_page
@require_POST
def questionnaire_submit(request: HttpRequest) -> JsonResponse:
    """**完成**: the current answers become the pupil's questionnaire response (the page sends it
    when its queue is empty; a page a newer one replaced cannot)."""
    attempt = _attempt(request)
    q = questionnaire.for_attempt(attempt) if attempt is not None else None
    if attempt is None or q is None:
        return JsonResponse({"error": "请重新登录。 / Please sign in again."}, status=403)
    page = _page_lease(request)
    if page and page < attempt.lease:
        return JsonResponse({"error": _page_text()["moved"], "moved": True}, status=409)
    try:
        questionnaire.finish(attempt, q)
    except InputError as e:
        return JsonResponse({"error": chinese(e.issues[0].message()) if e.issues else "问卷作答有误"}, status=400)
    audit(request, "test.questionnaire", f"attempt {attempt.pk} questionnaire {q.code}", rows=1,
          region_code=attempt.session.site.county.code)
    return JsonResponse({"submitted": True})


@pupil_page
@require_http_methods(["GET"])
def status(request: HttpRequest) -> JsonResponse:
    """/test/status/?lease=n&at=ms: the light question an idle test page asks every few seconds — is the
    proctor holding me (``hold``: "" running, "paused", "terminated"), when is my time up now
    (``ends_at``, moved by pauses and extra time), is time up (``closed``), has a newer page of my
    attempt opened (``moved``).  Only the pupil's own signed attempt cookie reaches it; no lease is
    opened — the only write is the page's heartbeat before time-up (``at``: the page's stamp,
    ``services.record_contact``), the evidence of the backdated-answers rule.  The busiest request of a
    test day: its state is one raw read (``delivery.poll``) and it skips most middleware
    (``poll.StatusPollMiddleware``)."""
    try:
        page = int(request.GET.get("lease") or 0)
    except ValueError:
        page = None
    value = request.get_signed_cookie(COOKIE, default=None, salt=SALT)
    now = timezone.now()
    state = poll.read(value, page or 0, now) if value and is_uuid(value) else None
    if state is None:
        return JsonResponse({"error": "请重新登录。 / Please sign in again."}, status=403)
    if page is None:
        return JsonResponse({"error": "请求格式错误 / malformed request (lease)"}, status=400)
    win = pupil_window(state.events, student_id=state.student_id, starts_at=state.starts_at, ends_at=state.ends_at,
                       now=now)
    end = services.ending(win.end, state.submitted_at)
    if now <= end:  # the page's heartbeat, while it may still answer (evidence of contact, not of answers)
        services.heartbeat(value, state.lease, page, request.GET.get("at"), now, state.span)
    return JsonResponse({"hold": win.state, "ends_at": end.isoformat(), "closed": now > end,
                         "moved": page < state.lease, "now": now.isoformat()})


@pupil_page
@require_POST
def submit(request: HttpRequest) -> HttpResponse:
    """Final submit (the page sends it only when its queue is empty).  A page whose lease a newer
    page has closed (``{"lease": n}`` below the attempt's) cannot submit: the pupil has moved on."""
    attempt = _attempt(request)
    if attempt is None:
        return JsonResponse({"error": "请重新登录。 / Please sign in again."}, status=403)
    page = _page_lease(request)
    if page and page < attempt.lease:
        return JsonResponse({"error": _page_text()["moved"], "moved": True}, status=409)
    services.submit(attempt)
    audit(request, "test.submit", f"attempt {attempt.pk} session {attempt.session_id}", rows=1,
          region_code=attempt.session.site.county.code)
    return JsonResponse({"submitted": True})


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    """"不是我": forget the attempt in this browser (nothing is deleted)."""
    return _forget(redirect("delivery_signin"))


def _staff_session(request: HttpRequest, session: int) -> TestSession:
    return get_object_or_404(restrict(TestSession.objects.select_related("site__cycle", "site__county"),
                                      request.user), pk=session)


def _run_session(request: HttpRequest, session: int) -> TestSession:
    """The session ``request.user`` may run (act in, unlock a pupil's browser): a role that runs
    sessions, within its scope; a proctor only a session not assigned to another proctor (on a
    site node no session is assigned: the node's one proctor account runs them all)."""
    require(request.user, "session.run")
    obj = _staff_session(request, session)
    if not may_run(request.user, obj):
        raise PermissionDenied("session.run")
    return obj


PUPIL_SALT = "junheng.delivery.proctor.pupil"


def _token(session, student_id: str) -> str:
    """An opaque name of a pupil in the console (an HMAC under the server's secret): the page never
    holds an unmasked 学籍号; the console's forms send the token back."""
    return salted_hmac(PUPIL_SALT, f"{session.pk}|{student_id}").hexdigest()[:20]


def _board(session) -> dict:
    """``proctor.board`` with each pupil's 学籍号 replaced by its token."""
    status = proctor.board(session)
    for r in status["rows"]:
        r["token"] = _token(session, r.pop("key"))
    return status


def _pupil(session, token: str) -> str:
    if not token:
        return ""
    for sid in session_pupils(session.site.cycle, session)["student_id"].to_list():
        if constant_time_compare(_token(session, sid), token):
            return sid
    raise ParameterError("学生标识无效，请刷新页面 / unknown pupil; reload the page")


@login_required
def sessions_index(request: HttpRequest) -> HttpResponse:
    """The sessions the user may see, today's first: the way into the console (the site node's home)."""
    sessions = (restrict(TestSession.objects.select_related("site"), request.user)
                .order_by("-starts_at", "site__code", "room")[:200])
    return render(request, "delivery/sessions.html", {"sessions": sessions,
                                                      "site_node": getattr(settings, "JUNHENG_SITE_NODE", False)})


@login_required
def session_status(request: HttpRequest, session: int) -> HttpResponse:
    """The proctor's console (staff of the session, scoped by ``restrict``): live status of every
    pupil, the room's and each pupil's controls (for roles that run sessions, ``session.run``),
    incident reports and the log.  Audited."""
    obj = _staff_session(request, session)
    status = _board(obj)
    rows = status["rows"]
    audit(request, "test.status", f"session {obj.pk}", rows=len(rows), region_code=obj.site.county.code)
    counts = {k: sum(r["state"] == k for r in rows) for k in proctor.STATES}
    for r in rows:  # each form's own id: the same form sent twice is applied once (``proctor.act``)
        r["form_key"] = uuid.uuid4()
    return render(request, "delivery/session.html", {
        "session": obj, "cycle": obj.site.cycle, "rows": rows, "counts": counts, "status": status,
        "room_key": uuid.uuid4(), "incident_key": uuid.uuid4(),
        "can_run": may_run(request.user, obj), "site_node": getattr(settings, "JUNHENG_SITE_NODE", False)})


@login_required
def session_json(request: HttpRequest, session: int) -> JsonResponse:
    """The console's live status as JSON (the page polls it)."""
    obj = _staff_session(request, session)
    status = _board(obj)
    return JsonResponse({"room": status["room"], "counts": {k: sum(r["state"] == k for r in status["rows"])
                                                            for k in proctor.STATES},
                         "rows": [{"key": r["token"], "state": r["state"], "changes": r["changes"],
                                   "ends_at": r["ends_at"].isoformat(), "late": r["late"],
                                   "late_last": r["late_last"].isoformat() if r["late_last"] else None}
                                  for r in status["rows"]]})


@login_required
@require_POST
def session_act(request: HttpRequest, session: int) -> HttpResponse:
    """One console action (``action``, optional ``pupil``, ``minutes``, ``note``; the form's ``key`` and
    ``seen``, what it was rendered against: a form sent twice is applied once), by a role that runs
    sessions.  Recorded as a ``ProctorEvent`` and audited."""
    obj = _run_session(request, session)
    action = request.POST.get("action", "")
    try:
        key, seen = _rendered_against(request.POST)
        minutes = int(request.POST["minutes"]) if request.POST.get("minutes") else None
        event = proctor.act(obj, action, student_id=_pupil(obj, request.POST.get("pupil", "")), minutes=minutes,
                            note=request.POST.get("note", ""), by=request.user.get_username(), seen=seen, key=key)
    except (ParameterError, ValueError) as e:
        messages.error(request, str(e) if isinstance(e, ParameterError) else _("分钟数应为整数。"))
    else:
        audit(request, f"test.{action}", f"session {obj.pk} {event.student_id or 'room'}",
              rows=1 if event.student_id else None, region_code=obj.site.county.code)
        messages.success(request, _("已记录：%(what)s") % {"what": dict(ProctorEvent.ACTIONS)[action]})
    return redirect("delivery_session", session=obj.pk)


def _rendered_against(post) -> tuple[uuid.UUID | None, int | None]:
    """The console form's ``key`` and ``seen`` (absent: not checked, as for a hand-made request)."""
    try:
        return (uuid.UUID(post["key"]) if post.get("key") else None,
                int(post["seen"]) if post.get("seen") else None)
    except ValueError:
        raise ParameterError("表单已损坏，请刷新页面 / a damaged form: reload the page") from None


@login_required
@require_POST
def unlock(request: HttpRequest, session: int) -> HttpResponse:
    """Staff who run the session (``_run_session``) type the unlock number a locked pupil's page
    shows; that browser may try again (``delivery.throttle``).  Audited."""
    obj = _run_session(request, session)
    number = request.POST.get("number", "")
    if throttle.unlock(number, obj, request.user):
        audit(request, "test.unlock", f"session {obj.pk} browser {throttle.normalise(number)}",
              region_code=obj.site.county.code)
        messages.success(request, _("已解除锁定，学生可以重新输入登录码。"))
    else:
        messages.error(request, _("解锁号应为学生页面上显示的 8 位字符。"))
    return redirect("delivery_session", session=obj.pk)
