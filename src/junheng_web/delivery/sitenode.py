"""The test-site node (测试点服务器, issue 15.1): the centre prepares a site package, the school's
laptop unlocks and loads it into its own SQLite and serves the test on the LAN, then exports a
result package that the centre ingests.  The cryptography is the core's (``junheng.site``); this
module chooses the records and merges them.

What a site package holds (``records.json``, Django's serialisation, primary keys kept so that the
login codes' salts — which name the cycle's and the session's ids — stay valid): the division
chain of the site's county, the site's schools and sampled schools, the sample run, the sampled
pupils with their names masked (张**) and no birth date, class or ethnicity, the site and its
sessions (no proctor account), the login codes' salted hashes (never a code; the centre's lookup
HMACs stay at the centre — their key is the centre's secret — so a site finds a code by its salted
hash, one hash per open session of the site), the booklets assigned to those pupils with their
blocks and items **without keys, rubrics or score maps**.  ``node.json`` holds the site's own
signing key and result key (derived by the centre, ``junheng.site.site_signing_key``) and its TLS
server certificate and key, issued by the province test CA (``junheng.site.tls``; the CA's key stays
at the centre beside the signing key).

A result package holds the site's attempts, page leases, every answer change (UUID, seq, lease,
client time, arrival), the pages' heartbeat spans (``PageContact``: the evidence of the
backdated-answers rule), the proctor's events (the log, incidents) and the audit of the node.  The
centre merges it by UUID: ingesting a package twice, or an older export after a newer one, adds
nothing; the current answer to an item stays the change with the highest ``(lease, seq)``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.core import serializers
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from junheng.exceptions import InputError, Issue, ParameterError, raise_for
from junheng.site import (
    PackageError,
    fingerprint,
    issue_site_certificate,
    load_private,
    load_public,
    new_signing_key,
    new_test_ca,
    new_unlock_code,
    open_package,
    private_pem,
    public_pem,
    read_manifest,
    result_key,
    seal,
    site_signing_key,
    write_package,
)
from junheng_web.assessment.models import Block, BlockItem, Booklet, BookletAssignment, BookletBlock, Item
from junheng_web.delivery.models import (
    Answer,
    Attempt,
    Lease,
    PageContact,
    ProctorEvent,
    QuestionnaireAnswer,
    SiteResult,
)
from junheng_web.delivery.questionnaire import finish
from junheng_web.delivery.result_records import (
    MEMBER,
    check_results,
    check_site_records,
    export_row,
    is_uuid,
    unknown_references,
)
from junheng_web.questionnaires.models import Questionnaire, QuestionnaireResponse
from junheng_web.registry.admin import mask_name
from junheng_web.registry.models import Cycle, Pupil, Region, School
from junheng_web.sampling.models import SampledPupil, SampledSchool, SampleRun
from junheng_web.testsites.models import LoginCode, TestSession, TestSite

SUFFIX = ".jhsite"  # a site package
RESULT_SUFFIX = ".jhresult"
VALID_AFTER_END = dt.timedelta(days=2)  # a site package expires two days after its last session
NODE_FILE = "node.json"  # on the laptop: which package is loaded, the site's keys (mode 0600)
RECORDS = "records.json"  # in a site package: the records the site needs (Django's serialisation)


# ---- the centre's key ------------------------------------------------------------------------------

def centre_key(path: Path):
    """The centre's Ed25519 key at ``path``, created (mode 0600) with its public half beside it
    (``.pub.pem``) on first use."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = new_signing_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(private_pem(key))
        public_path(path).write_bytes(public_pem(key))
        return key
    return load_private(path)


CA_KEY, CA_CERT = "test-ca.key.pem", "test-ca.crt"  # beside the centre's key
CA_OUT = "junheng-test-ca.crt"  # beside the packages: installed on the pupils' computers


def province_ca(key_path: Path, now: dt.datetime | None = None) -> tuple[bytes, bytes]:
    """The province test CA ``(key PEM, certificate PEM)`` beside the centre's key, created on first
    use (the key with mode 0600, like the signing key)."""
    folder = Path(key_path).parent
    key_file, cert_file = folder / CA_KEY, folder / CA_CERT
    if not key_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key, cert = new_test_ca(now or timezone.now())
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        cert_file.write_bytes(cert)
    return key_file.read_bytes(), cert_file.read_bytes()


def public_path(key_path: Path) -> Path:
    return Path(key_path).with_suffix(".pub.pem")


# ---- prepare (centre) ------------------------------------------------------------------------------

def _ancestors(regions) -> list[Region]:
    out, seen = [], set()
    for r in regions:
        while r is not None and r.pk not in seen:
            seen.add(r.pk)
            out.append(r)
            r = r.parent
    return sorted(out, key=lambda r: (r.parent_id is not None, r.code))


def site_records(cycle: Cycle, site: TestSite) -> list:
    """The records a site needs on test day (module docstring), personal fields reduced."""
    sampled = list(SampledSchool.objects.filter(test_sites=site).select_related("school__county__parent__parent"))
    if not sampled:
        raise ParameterError(f"测试点 {site.code} 没有参测学校 / site {site.code} has no schools")
    schools = [s.school for s in sampled]
    for s in sampled:
        s.replaces_id = None  # the school it replaced stays at the centre
    sampled_pupils = list(SampledPupil.objects.filter(cycle=cycle, sampled_school__in=sampled)
                          .select_related("pupil__school__county__parent__parent"))
    pupils = [sp.pupil for sp in sampled_pupils]
    schools += [p.school for p in pupils if p.school_id not in {s.pk for s in schools}]  # a pupil enrolled elsewhere
    schools = list({s.pk: s for s in schools}.values())
    for p in pupils:
        p.name, p.birth_date, p.ethnicity, p.school_class_id = mask_name(p.name), dt.date(2000, 1, 1), "", None
    runs = SampleRun.objects.filter(pk__in={s.run_id for s in sampled} | {sp.run_id for sp in sampled_pupils})
    sessions = list(TestSession.objects.filter(site=site))
    for s in sessions:
        s.proctor_id = None
    codes = list(LoginCode.objects.filter(session__in=sessions))
    for c in codes:
        c.lookup = None
    assignments = list(BookletAssignment.objects.filter(cycle=cycle, student_id__in=[p.student_id for p in pupils]))
    booklets = Booklet.objects.filter(pk__in={a.booklet_id for a in assignments})
    slots = list(BookletBlock.objects.filter(booklet__in=booklets))
    blocks = Block.objects.filter(pk__in={s.block_id for s in slots})
    block_items = list(BlockItem.objects.filter(block__in=blocks))
    items = list(Item.objects.filter(pk__in={b.item_id for b in block_items}))
    for it in items:
        it.key, it.rubric, it.score_map = "", [], {}
    questionnaires = Questionnaire.objects.filter(cycle=cycle, respondent="student")  # in the browser after the test
    return [*_ancestors({s.county for s in schools} | {site.county}), *schools, cycle, *runs, *sampled, *pupils,
            *sampled_pupils, site, *sessions, *codes, *items, *blocks, *block_items, *booklets, *slots, *assignments,
            *questionnaires]


@dataclass(frozen=True)
class Prepared:
    site: str
    name: str
    path: Path
    unlock_code: str
    package_id: str
    pupils: int
    sessions: int


def prepare(cycle: Cycle, out_dir: Path, key_path: Path, *, sites: list[str] | None = None,
            addresses: dict[str, list[str]] | None = None, now: dt.datetime | None = None) -> list[Prepared]:
    """One signed, encrypted package per test site of ``cycle`` (or of ``sites``, by code) in
    ``out_dir``, each locked with its own new unlock code and holding the site's TLS certificate
    (for ``<code>.kaodian.local`` and the LAN ``addresses`` declared for the site's laptop); the
    centre's public key and the test CA's certificate beside them."""
    now = now or timezone.now()
    centre = centre_key(key_path)
    ca_key, ca_cert = province_ca(key_path, now)
    addresses = addresses or {}
    chosen = TestSite.objects.filter(cycle=cycle).select_related("county__parent__parent").order_by("code")
    if sites:
        found = set(chosen.filter(code__in=sites).values_list("code", flat=True))
        missing = sorted(set(sites) - found)
        if missing:
            raise ParameterError(f"{cycle} 没有这些测试点 / no such test sites in {cycle}: {', '.join(missing)}")
        chosen = chosen.filter(code__in=sites)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "centre.pub.pem").write_bytes(public_pem(centre))
    (out_dir / CA_OUT).write_bytes(ca_cert)
    unknown = sorted(set(addresses) - set(chosen.values_list("code", flat=True)))
    if unknown:
        raise ParameterError(f"给出了地址的测试点不在本次准备中 / addresses given for sites not prepared: "
                             f"{', '.join(unknown)}")
    made = []
    for site in chosen:
        records = site_records(cycle, site)
        ends = max((s.ends_at for s in records if isinstance(s, TestSession)), default=now)
        pid, code = str(uuid.uuid4()), new_unlock_code()
        tls_key, tls_cert = issue_site_certificate(ca_key, ca_cert, site.code, addresses.get(site.code, ()), now=now,
                                             until=ends + VALID_AFTER_END)
        node = {"tls_key": tls_key.decode(), "tls_cert": tls_cert.decode(),"site": site.code, "site_name": site.name, "cycle": str(cycle.pk), "package_id": pid,
                "centre": fingerprint(centre),
                "site_key": private_pem(site_signing_key(centre, site.code, pid, str(cycle.pk))).decode(),
                "result_key": result_key(centre, site.code, pid, str(cycle.pk)).hex()}
        blob = seal({RECORDS: serializers.serialize("json", records).encode(),
                     NODE_FILE: json.dumps(node).encode()},
                    kind="site", site=site.code, cycle=f"{cycle.year}-{cycle.grade}", signer=centre, unlock_code=code,
                    issued_at=now, expires_at=ends + VALID_AFTER_END, package_id=pid,
                    extra={"site_name": site.name})
        path = write_package(blob, out_dir / f"{site.code}{SUFFIX}")
        made.append(Prepared(site.code, site.name, path, code, pid,
                             sum(isinstance(r, Pupil) for r in records), sum(isinstance(r, TestSession) for r in records)))
    if not made:
        raise ParameterError(f"{cycle} 没有测试点 / {cycle} has no test sites")
    return made


# ---- the site node ---------------------------------------------------------------------------------

def node_state(home: Path) -> dict | None:
    path = Path(home) / NODE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _save_node(home: Path, state: dict) -> None:
    path = Path(home) / NODE_FILE
    tmp = path.with_name(f".{NODE_FILE}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def unlock(blob: bytes | Path, *, home: Path, site: str, unlock_code: str, centre_public: Path,
           now: dt.datetime | None = None, name: str = "测试点数据包 / site package") -> dict:
    """Verify and decrypt a site package and load it into this node's database (``home``).

    The same package again changes nothing; a package issued before the one loaded is refused
    (a replay), a newer one is loaded over it (records updated by their ids; answers kept)."""
    trusted = load_public(centre_public)
    state = node_state(home)
    manifest = read_manifest(blob, name)
    if state and state["package_id"] == manifest.get("package_id") and state["site"] == site:
        return state  # loaded already
    newer_than = dt.datetime.fromisoformat(state["issued_at"]) if state and state["site"] == site else None
    if state and state["site"] != site:
        raise PackageError(f"本机已载入测试点 {state['site']} 的数据包，不能再载入测试点 {site} 的 / this node holds "
                           f"site {state['site']}; it cannot load site {site}")
    pkg = open_package(blob, kind="site", site=site, trusted=trusted, unlock_code=unlock_code, now=now,
                       newer_than=newer_than, what=name)
    node, records = _site_contents(pkg, name)
    try:
        with transaction.atomic():
            for obj in serializers.deserialize("python", records):
                obj.save()
    # well typed, yet inconsistent or beyond what the database takes (a number past its column's
    # range: OverflowError on SQLite, DataError on PostgreSQL); rolled back whole
    except (serializers.base.DeserializationError, DatabaseError, OverflowError) as exc:
        raise InputError(Issue("测试点数据包的记录无法载入（互相矛盾或引用缺失），未载入任何内容",
                               "the site package's records cannot be loaded (inconsistent, or a reference is missing): "
                               "nothing was loaded", file=f"{name} › {RECORDS}", value=str(exc)[:200])) from None
    node.update(issued_at=pkg.manifest["issued_at"], loaded_at=timezone.now().isoformat(),
                expires_at=pkg.manifest["expires_at"])
    _save_node(home, node)
    return node


def _site_contents(pkg, name: str) -> tuple[dict, list]:
    """``node.json`` and ``records.json`` of a verified site package, every record checked
    (``result_records.check_site_records``); else one :class:`InputError` naming every bad field,
    raised before anything is loaded."""
    node, records = _member_json(pkg, NODE_FILE, name), _member_json(pkg, RECORDS, name)
    issues = check_site_records(records, name, RECORDS)
    missing = [key for key in ("site", "site_name", "cycle", "package_id", "site_key", "result_key", "tls_key",
                               "tls_cert") if not isinstance(node, dict) or not isinstance(node.get(key), str)]
    issues += [Issue("应为文本", "must be text", file=f"{name} › {NODE_FILE}", column=key) for key in missing]
    raise_for(issues, f"{name}: 测试点数据包的内容有 {len(issues)} 处错误，未载入任何内容 / the site package's contents "
                      f"have {len(issues)} error(s): nothing was loaded")
    return node, records


def site_proctor(home: Path, password: str | None):
    """The node's proctor account ``proctor`` (role proctor, the site's first school): created on
    first start; its password set when ``password`` is given.  Returns ``(user, created)``."""
    from junheng_web.accounts.models import User

    state = node_state(home)
    site = TestSite.objects.get(code=state["site"], cycle_id=int(state["cycle"]))
    school = School.objects.filter(samplings__test_sites=site).order_by("code").first()
    user, created = User.objects.get_or_create(username="proctor", defaults={"role": User.Role.PROCTOR,
                                                                             "school": school})
    if password is not None:
        from django.contrib.auth.password_validation import validate_password
        from django.core.exceptions import ValidationError

        try:
            validate_password(password, user)
        except ValidationError as e:
            raise ParameterError("监考员密码不合要求 / the proctor's password is refused: " + " ".join(e.messages)) from None
        user.set_password(password)
        user.save()
    return user, created


def export_results(home: Path, out: Path, now: dt.datetime | None = None) -> dict:
    """Write this node's result package (signed by the site's key, encrypted with its result key)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from junheng_web.accounts.models import AuditLog

    state = node_state(home)
    if not state:
        raise ParameterError("本机尚未载入测试点数据包 / no site package is loaded on this node")
    sessions = TestSession.objects.filter(site__code=state["site"], site__cycle_id=int(state["cycle"]))
    attempts = Attempt.objects.filter(session__in=sessions)
    answers = Answer.objects.filter(attempt__in=attempts).select_related("item")
    records = {
        "attempts": [export_row(a) for a in attempts],
        "leases": [export_row(lease) for lease in Lease.objects.filter(attempt__in=attempts)],
        "answers": [export_row(a) for a in answers],
        "questionnaire_answers": [export_row(q) for q in QuestionnaireAnswer.objects.filter(attempt__in=attempts)],
        # the pages' heartbeat spans: the centre's forensics tell an outage from backdated answers by them
        "contacts": [export_row(c) for c in PageContact.objects.filter(attempt__in=attempts)],
        # the pupils who pressed 完成: the centre compiles their responses the same way
        "questionnaires_done": [[str(a), q] for a, q in _finished(attempts)],
        "events": [export_row(e) for e in ProctorEvent.objects.filter(session__in=sessions)],
        "audit": [{"at": _iso(a.at), "username": a.username, "action": a.action, "what": a.what, "ip": a.ip}
                  for a in AuditLog.objects.all().order_by("at")],
    }
    signer = load_pem_private_key(state["site_key"].encode(), password=None)
    blob = seal({MEMBER: json.dumps(records, ensure_ascii=False).encode()}, kind="result", site=state["site"],
                cycle=state["cycle"], signer=signer, key=bytes.fromhex(state["result_key"]), issued_at=now,
                extra={"site_package": state["package_id"]})
    write_package(blob, Path(out))
    return {k: len(v) for k, v in records.items()}


def _finished(attempts) -> list[tuple]:
    done = set(QuestionnaireResponse.objects.filter(questionnaire__respondent="student").values_list(
        "questionnaire_id", "respondent_id"))
    return [(a.pk, q) for a in attempts for q in {q for q, sid in done if sid == a.student_id}]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


# ---- ingest (centre) -------------------------------------------------------------------------------

def ingest(blob: bytes | Path, key_path: Path, name: str = "结果数据包 / result package") -> dict:
    """Verify a site's result package and merge it (all or nothing).  Returns the numbers of
    records added; a package ingested before adds nothing (``"again": True``)."""
    centre = load_private(Path(key_path))
    manifest = read_manifest(blob, name)
    site_code, pid = manifest["site"], str(manifest.get("site_package") or "")
    if not is_uuid(pid):
        raise PackageError(f"{name} 没有注明测试点数据包 / names no site package")
    cycle = str(manifest.get("cycle", ""))  # the cycle's id, bound into the site's keys
    pkg = open_package(blob, kind="result", site=site_code, trusted=site_signing_key(centre, site_code, pid, cycle).public_key(),
                       key=result_key(centre, site_code, pid, cycle), what=name)
    data = _checked_records(pkg, name)
    site = TestSite.objects.filter(code=site_code, cycle_id=int(cycle) if cycle.isdigit() else -1).first()
    if site is None:
        raise PackageError(f"{name}: 中心没有测试点 {site_code} / the centre has no test site {site_code}")
    sessions = set(TestSession.objects.filter(site=site).values_list("pk", flat=True))
    problems = [f"场次 #{s}" for s in {a["session"] for a in data["attempts"]} | {e["session"] for e in data["events"]}
                if s not in sessions]
    if problems:
        raise PackageError(f"{name} 含有不属于测试点 {site_code} 的场次 / holds sessions of another site: "
                           + ", ".join(sorted(problems)))
    _own_attempts_only(data, sessions, site_code, name)
    items = dict(Item.objects.filter(item_id__in={a["item"] for a in data["answers"]}).values_list("item_id", "pk"))
    existing = {(s, sid): pk for pk, s, sid in Attempt.objects.filter(session_id__in=sessions)
                .values_list("pk", "session_id", "student_id")}
    clash = [a["student_id"] for a in data["attempts"]
             if existing.get((a["session"], a["student_id"]), uuid.UUID(a["id"])) != uuid.UUID(a["id"])]
    if clash:
        raise PackageError(f"{name}: {len(clash)} 名学生在中心平台也有本场次的作答记录，不能自动合并 / {len(clash)} "
                           "pupils also have an attempt of this session at the centre: not merged automatically")
    unknown = sorted({a["item"] for a in data["answers"]} - set(items))
    if unknown:
        raise PackageError(f"{name}: 中心没有这些题目 / unknown items: {', '.join(unknown[:10])}")
    _known_references(data, site.cycle_id, name)
    _own_pupils_only(data, site, name)
    before = _counts(sessions)
    with transaction.atomic():
        known = {a.pk: a for a in Attempt.objects.filter(pk__in=[uuid.UUID(x["id"]) for x in data["attempts"]])}
        Attempt.objects.bulk_create([
            Attempt(id=uuid.UUID(x["id"]), session_id=x["session"], student_id=x["student_id"], booklet_id=x["booklet"],
                    lease=x["lease"], started_at=_time(x["started_at"]), submitted_at=_time(x["submitted_at"]))
            for x in data["attempts"] if uuid.UUID(x["id"]) not in known])
        for x in data["attempts"]:  # seen before: the newest lease, the earliest submission
            att = known.get(uuid.UUID(x["id"]))
            submitted = min([t for t in (att.submitted_at, _time(x["submitted_at"])) if t], default=None) if att else None
            if att and (x["lease"] > att.lease or submitted != att.submitted_at):
                Attempt.objects.filter(pk=att.pk).update(lease=max(att.lease, x["lease"]), submitted_at=submitted)
        Lease.objects.bulk_create([Lease(attempt_id=uuid.UUID(x["attempt"]), number=x["number"],
                                         started_at=_time(x["started_at"])) for x in data["leases"]],
                                  ignore_conflicts=True)
        _merge(Answer, data["answers"], lambda x: {"item_id": items[x["item"]]})
        _merge(QuestionnaireAnswer, data.get("questionnaire_answers", []),
               lambda x: {"questionnaire_id": x["questionnaire"], "item": x["item"]})
        _merge_contacts(data.get("contacts", []))
        ProctorEvent.objects.bulk_create([ProctorEvent(id=uuid.UUID(e["id"]), session_id=e["session"],
                                                       student_id=e["student_id"], action=e["action"],
                                                       minutes=e["minutes"], note=e["note"], by=e["by"],
                                                       at=_time(e["at"])) for e in data["events"]],
                                         ignore_conflicts=True)
        for attempt_id, q in data.get("questionnaires_done", []):
            finish(Attempt.objects.select_related("session__site__cycle").get(pk=uuid.UUID(attempt_id)),
                   Questionnaire.objects.get(pk=q))
        record, first = SiteResult.objects.get_or_create(
            package_id=uuid.UUID(pkg.package_id),
            defaults={"site_package": uuid.UUID(pid), "site": site, "issued_at": _time(pkg.manifest["issued_at"]),
                      "counts": {k: len(v) for k, v in data.items() if isinstance(v, list)}})
    after = _counts(sessions)
    return {"site": site_code, "again": not first, **{k: after[k] - before[k] for k in after}}


def _member_json(pkg, member: str, name: str):
    """The file ``member`` of the opened package ``name`` as parsed JSON; a missing member or one that
    is not UTF-8 JSON is an :class:`InputError` naming the package and the member."""
    where = f"{name} › {member}"
    try:
        return json.loads(pkg.files[member])
    except KeyError:
        raise InputError(Issue("数据包中缺少此文件", "the package lacks this file", file=where)) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise InputError(Issue("不是有效的 UTF-8 JSON", "not valid UTF-8 JSON", file=where,
                               value=str(exc)[:120])) from None


def _checked_records(pkg, name: str) -> dict:
    """``results.json`` of a verified result package, every field checked (``result_records``);
    else one :class:`InputError` naming every bad field — raised before anything is written."""
    data = _member_json(pkg, MEMBER, name)
    _refuse(check_results(data, name), name)
    return data


def _refuse(issues: list[Issue], name: str) -> None:
    raise_for(issues, f"{name}: 结果数据包的记录有 {len(issues)} 处错误，未汇入任何内容 / the result package's records "
                      f"have {len(issues)} error(s): nothing was ingested")


def _known_references(data: dict, cycle_id: int, name: str) -> None:
    """The booklets and the pupils' questionnaires the records name exist here, in the site's cycle
    (else the merge would fail on a foreign key half-way; and a site's key speaks for its own cycle:
    a finished questionnaire of another cycle would write the pupil's response there)."""
    booklets = set(Booklet.objects.filter(cycle_id=cycle_id, pk__in={a["booklet"] for a in data["attempts"]})
                   .values_list("pk", flat=True))
    named = ({q["questionnaire"] for q in data.get("questionnaire_answers", [])}
             | {q for _, q in data.get("questionnaires_done", [])})
    questionnaires = set(Questionnaire.objects.filter(cycle_id=cycle_id, respondent="student", pk__in=named)
                         .values_list("pk", flat=True))
    _refuse(unknown_references(data, name, booklets, questionnaires), name)


def _own_pupils_only(data: dict, site: TestSite, name: str) -> None:
    """A site's key speaks for its own pupils: every attempt is of a pupil its package carried (the
    sampled pupils of its schools, or a login code of its sessions) — else a site could put answers
    into another site's pupil's scores, and overwrite that pupil's questionnaire response
    (``questionnaires_done``)."""
    own = (set(SampledPupil.objects.filter(cycle_id=site.cycle_id, sampled_school__test_sites=site)
               .values_list("pupil__student_id", flat=True))
           | set(LoginCode.objects.filter(session__site=site).values_list("student_id", flat=True)))
    _refuse([Issue("不是本测试点的学生（本测试点的参测学校、登录码中都没有）", "not a pupil of this site (neither "
                   "sampled in its schools nor on a login code of its sessions)", file=f"{name} › {MEMBER}",
                   column=f"attempts[{k}].student_id", value=a["student_id"])
             for k, a in enumerate(data["attempts"], start=1) if a["student_id"] not in own], name)


def _own_attempts_only(data: dict, sessions: set[int], site_code: str, name: str) -> None:
    """A site's key speaks for its own sessions only: every answer, lease, questionnaire answer and
    finished questionnaire must belong to an attempt of the package, and an attempt the centre
    already has must be of this site's sessions — else another site's (or the centre's) attempts
    could be written to through this package."""
    ids = {uuid.UUID(str(a["id"])) for a in data["attempts"]}
    refs = ({str(x["attempt"]) for key in ("answers", "leases", "questionnaire_answers", "contacts")
             for x in data.get(key, [])}
            | {str(a) for a, _ in data.get("questionnaires_done", [])})
    stray = sorted(r for r in refs if uuid.UUID(r) not in ids)
    if stray:
        raise PackageError(f"{name} 含有不属于本数据包作答的记录（{', '.join(stray[:5])}） / holds records of attempts "
                           f"that are not in the package: refused")
    foreign = sorted(str(pk) for pk in Attempt.objects.filter(pk__in=ids).exclude(session_id__in=sessions)
                     .values_list("pk", flat=True))
    if foreign:
        raise PackageError(f"{name} 的作答编号在中心属于其他测试点的场次（{', '.join(foreign[:5])}），拒绝合并 / names "
                           f"attempts that belong to sessions of another site than {site_code}: refused")


def _merge(model, rows: list[dict], fields) -> None:
    """Insert the changes whose UUIDs are new, with the site's times (a known UUID is left alone)."""
    ids = [uuid.UUID(x["id"]) for x in rows]
    known = {i for k in range(0, len(ids), 5000)
             for i in model.objects.filter(id__in=ids[k:k + 5000]).values_list("id", flat=True)}
    model.objects.bulk_create([model(id=i, attempt_id=uuid.UUID(x["attempt"]), raw=x["raw"], seq=x["seq"],
                                     lease=x["lease"], client_at=_time(x["client_at"]),
                                     received_at=_time(x["received_at"]), **fields(x))
                               for i, x in zip(ids, rows) if i not in known], ignore_conflicts=True, batch_size=2000)


def _merge_contacts(rows: list[dict]) -> None:
    """The node's heartbeat spans, keyed by (attempt, lease, first heartbeat): a new span is added, a
    known one keeps the later end and the larger count (a later package of the same node has grown
    it), so ingesting a package again changes nothing."""
    if not rows:
        return
    known = {(str(c.attempt_id), c.lease, c.first_at): c
             for c in PageContact.objects.filter(attempt_id__in={uuid.UUID(x["attempt"]) for x in rows})}
    new, grown = [], []
    for x in rows:
        key = (str(uuid.UUID(x["attempt"])), x["lease"], _time(x["first_at"]))
        old = known.get(key)
        if old is None:
            new.append(PageContact(attempt_id=uuid.UUID(x["attempt"]), lease=x["lease"], first_at=key[2],
                                   last_at=_time(x["last_at"]), beats=x["beats"], gap_s=x["gap_s"]))
            known[key] = new[-1]
        elif _time(x["last_at"]) > old.last_at or x["beats"] > old.beats:
            old.last_at, old.beats = max(old.last_at, _time(x["last_at"])), max(old.beats, x["beats"])
            grown.append(old)
    PageContact.objects.bulk_create(new, batch_size=2000)
    PageContact.objects.bulk_update([c for c in grown if c.pk], ["last_at", "beats"], batch_size=2000)


def _counts(sessions) -> dict[str, int]:
    return {"attempts": Attempt.objects.filter(session_id__in=sessions).count(),
            "answers": Answer.objects.filter(attempt__session_id__in=sessions).count(),
            "events": ProctorEvent.objects.filter(session_id__in=sessions).count()}


def site_sessions(site_code: str | None = None):
    """The sessions of this node (all the node's database holds) for the console's index."""
    qs = TestSession.objects.select_related("site").order_by("starts_at", "pk")
    return qs.filter(Q(site__code=site_code)) if site_code else qs
