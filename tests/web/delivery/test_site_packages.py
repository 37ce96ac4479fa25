"""Site and result packages in one process (fast; the subprocess test is test_site_node.py): what a
site package holds and leaves out, replays and expiry refused on the node, and the centre's merge
by UUID — twice, an older export after a newer one, a clash with a central attempt, another site's
sessions."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid

import pytest
from django.utils import timezone

from junheng.site import PackageError, load_private, open_package, result_key, seal, site_signing_key
from tests.web.delivery.conftest import CODE_A0

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(tmp_path):
    return tmp_path / "keys" / "centre.pem"


def _prepare(dw, tmp_path, keys, now=None):
    from junheng_web.delivery.sitenode import prepare

    return prepare(dw.cycle, tmp_path / "out", keys, sites=[dw.sites["A"].code], now=now)[0]


def test_a_site_package_holds_masked_pupils_hashes_and_no_keys(dw, tmp_path, keys):
    from junheng_web.delivery.sitenode import NODE_FILE

    made = _prepare(dw, tmp_path, keys)
    pkg = open_package(made.path.read_bytes(), kind="site", site=dw.sites["A"].code,
                       trusted=load_private(keys).public_key(), unlock_code=made.unlock_code)
    records = json.loads(pkg.files["records.json"])
    by_model = {}
    for r in records:
        by_model.setdefault(r["model"], []).append(r["fields"])
    pupils = by_model["registry.pupil"]
    assert pupils and all(p["name"].endswith("*") and p["birth_date"] == "2000-01-01" for p in pupils)
    assert {i["key"] for i in by_model["assessment.item"]} == {""}  # I1's key B and I2's AC stay at the centre
    assert all(c["lookup"] is None and len(c["code_hash"]) == 64 for c in by_model["testsites.logincode"])
    assert CODE_A0 not in pkg.files["records.json"].decode()
    assert {s["site"] for s in by_model["testsites.testsession"]} == {dw.sites["A"].pk}  # site B's stay out
    node = json.loads(pkg.files[NODE_FILE])
    assert node["site"] == dw.sites["A"].code and "PRIVATE KEY" in node["site_key"]


def test_a_site_package_carries_its_https_certificate_from_the_centres_test_ca(dw, tmp_path, keys):
    """The CA is made once beside the centre's key (its key mode 0600, never in a package); each
    package's certificate names the site's fixed host and the declared LAN address and is signed by
    that CA (checked by ``cryptography``'s path validation); an address for a site not prepared,
    or a public one, is refused."""
    import ipaddress
    import stat

    from cryptography import x509
    from cryptography.x509.verification import PolicyBuilder, Store

    from junheng.exceptions import ParameterError
    from junheng_web.delivery.sitenode import CA_KEY, CA_OUT, NODE_FILE, prepare

    code = dw.sites["A"].code
    made = prepare(dw.cycle, tmp_path / "out", keys, sites=[code], addresses={code: ["192.168.7.9"]})[0]
    ca_file = keys.parent / CA_KEY
    assert stat.S_IMODE(ca_file.stat().st_mode) == 0o600
    ca = (tmp_path / "out" / CA_OUT).read_bytes()
    pkg = open_package(made.path.read_bytes(), kind="site", site=code, trusted=load_private(keys).public_key(),
                       unlock_code=made.unlock_code)
    node = json.loads(pkg.files[NODE_FILE])
    assert ca_file.read_bytes() not in made.path.read_bytes() and "PRIVATE KEY" in node["tls_key"]
    cert = x509.load_pem_x509_certificate(node["tls_cert"].encode())
    store = Store([x509.load_pem_x509_certificate(ca)])
    for name in (x509.DNSName(f"{code.lower()}.kaodian.local"), x509.IPAddress(ipaddress.ip_address("192.168.7.9"))):
        PolicyBuilder().store(store).build_server_verifier(name).verify(cert, [])
    again = prepare(dw.cycle, tmp_path / "out2", keys, sites=[code])[0]  # the same CA next time
    assert (tmp_path / "out2" / CA_OUT).read_bytes() == ca and again.path.exists()
    with pytest.raises(ParameterError, match="不在本次准备中"):
        prepare(dw.cycle, tmp_path / "out3", keys, sites=[code], addresses={"NOPE": ["192.168.1.2"]})
    with pytest.raises(ParameterError, match="局域网"):
        prepare(dw.cycle, tmp_path / "out3", keys, sites=[code], addresses={code: ["8.8.8.8"]})


def test_the_node_loads_once_refuses_a_replay_and_an_expired_package(dw, tmp_path, keys):
    from junheng_web.delivery.sitenode import prepare, unlock

    old = _prepare(dw, tmp_path, keys, now=timezone.now() - dt.timedelta(hours=1))
    new = prepare(dw.cycle, tmp_path / "out2", keys, sites=[dw.sites["A"].code])[0]
    pub, home, site = tmp_path / "out" / "centre.pub.pem", tmp_path / "node", dw.sites["A"].code
    home.mkdir()
    state = unlock(new.path.read_bytes(), home=home, site=site, unlock_code=new.unlock_code, centre_public=pub)
    assert state["package_id"] == new.package_id
    assert unlock(new.path.read_bytes(), home=home, site=site, unlock_code="", centre_public=pub) == state
    with pytest.raises(PackageError, match="旧包或重放"):
        unlock(old.path.read_bytes(), home=home, site=site, unlock_code=old.unlock_code, centre_public=pub)
    with pytest.raises(PackageError, match="过期"):
        unlock(old.path.read_bytes(), home=tmp_path, site=site, unlock_code=old.unlock_code, centre_public=pub,
               now=timezone.now() + dt.timedelta(days=30))


def _result(keys, site, pid, data, issued_at=None):
    centre = load_private(keys)
    return seal({"results.json": json.dumps(data).encode()}, kind="result", site=site.code, cycle=str(site.cycle_id),
                signer=site_signing_key(centre, site.code, pid, str(site.cycle_id)),
                key=result_key(centre, site.code, pid, str(site.cycle_id)),
                issued_at=issued_at, extra={"site_package": pid})


def _data(dw, attempt_id, answers, events=()):
    s = dw.sessions["A"]
    return {"attempts": [{"id": attempt_id, "session": s.pk, "student_id": dw.pupils["A"][0].student_id,
                          "booklet": dw.delivery["booklet"].pk, "started_at": s.starts_at.isoformat(),
                          "submitted_at": None, "lease": 2}],
            "leases": [{"attempt": attempt_id, "number": n, "started_at": s.starts_at.isoformat()} for n in (1, 2)],
            "answers": [{"id": i, "attempt": attempt_id, "item": item, "raw": raw, "seq": seq, "lease": lease,
                         "client_at": s.starts_at.isoformat(), "received_at": s.starts_at.isoformat()}
                        for i, item, raw, seq, lease in answers],
            "events": list(events), "audit": []}


def test_ingest_merges_by_uuid_and_the_highest_lease_and_seq_wins(dw, keys):
    from junheng_web.delivery.models import Answer, Attempt
    from junheng_web.delivery.services import current_answers
    from junheng_web.delivery.sitenode import centre_key, ingest

    centre_key(keys)
    pid, att = str(uuid.uuid4()), str(uuid.uuid4())
    a1, a2, a3 = (str(uuid.uuid4()) for _ in range(3))
    early = _data(dw, att, [(a1, "I1", "A", 1, 1), (a2, "I1", "C", 5, 1)])
    late = _data(dw, att, [(a1, "I1", "A", 1, 1), (a2, "I1", "C", 5, 1), (a3, "I1", "D", 1, 2)])
    site = dw.sites["A"]
    got = ingest(_result(keys, site, pid, late), keys)
    assert (got["attempts"], got["answers"], got["again"]) == (1, 3, False)
    got = ingest(_result(keys, site, pid, early), keys)  # an older export after the newer: nothing new
    assert (got["attempts"], got["answers"]) == (0, 0)
    attempt = Attempt.objects.get(pk=att)
    # the second computer's (lease 2) first change beats the first computer's seq 5
    assert current_answers(attempt)["I1"]["raw"] == "D" and Answer.objects.filter(attempt=attempt).count() == 3
    assert Answer.objects.get(pk=a3).received_at == dw.sessions["A"].starts_at  # the site's arrival kept
    assert Attempt.objects.get(pk=att).started_at == dw.sessions["A"].starts_at


def test_ingest_keeps_the_newest_lease_and_the_earliest_submission_whatever_the_order(dw, keys):
    """Three exports of one attempt arrive out of order: lease 3 submitted at +30 min, then an
    older copy (lease 2) submitted at +20 min, then one not yet submitted.  The attempt keeps the
    highest lease (3) and the first submission (+20 min): a later or older package never lowers
    the lease, reopens the attempt or moves its submission later."""
    from junheng_web.delivery.models import Attempt
    from junheng_web.delivery.sitenode import centre_key, ingest

    centre_key(keys)
    pid, att, site = str(uuid.uuid4()), str(uuid.uuid4()), dw.sites["A"]
    start = dw.sessions["A"].starts_at
    for lease, minutes in ((3, 30), (2, 20), (1, None)):
        data = _data(dw, att, [])
        data["attempts"][0].update(lease=lease, submitted_at=(start + dt.timedelta(minutes=minutes)).isoformat()
                                   if minutes else None)
        ingest(_result(keys, site, pid, data), keys)
    attempt = Attempt.objects.get(pk=att)
    assert (attempt.lease, attempt.submitted_at) == (3, start + dt.timedelta(minutes=20))


def test_ingest_merges_the_questionnaire_answers_given_on_the_node(dw, keys):
    from junheng_web.delivery.models import QuestionnaireAnswer
    from junheng_web.delivery.sitenode import centre_key, ingest
    from junheng_web.questionnaires.models import Questionnaire

    centre_key(keys)
    q = Questionnaire.objects.create(cycle=dw.cycle, code="S1", title="学生问卷", respondent="student", definition={})
    att, qa = str(uuid.uuid4()), str(uuid.uuid4())
    data = _data(dw, att, [])
    at = dw.sessions["A"].ends_at.isoformat()
    data["questionnaire_answers"] = [{"id": qa, "attempt": att, "questionnaire": q.pk, "item": "Q1", "raw": "2",
                                      "seq": 1, "lease": 1, "client_at": at, "received_at": at}]
    pid = str(uuid.uuid4())
    assert ingest(_result(keys, dw.sites["A"], pid, data), keys)["attempts"] == 1
    ingest(_result(keys, dw.sites["A"], pid, data), keys)
    got = QuestionnaireAnswer.objects.get()
    assert (str(got.pk), got.raw, got.received_at) == (qa, "2", dw.sessions["A"].ends_at)


def test_ingest_refuses_a_clash_another_sites_session_and_unknown_items(dw, keys):
    from junheng_web.delivery.models import Attempt
    from junheng_web.delivery.services import sign_in
    from junheng_web.delivery.sitenode import centre_key, ingest

    centre_key(keys)
    site, pid = dw.sites["A"], str(uuid.uuid4())
    data = _data(dw, str(uuid.uuid4()), [(str(uuid.uuid4()), "I9", "A", 1, 1)])
    with pytest.raises(PackageError, match="中心没有这些题目"):
        ingest(_result(keys, site, pid, data), keys)
    data["attempts"][0]["session"] = dw.sessions["B"].pk
    with pytest.raises(PackageError, match="不属于测试点"):
        ingest(_result(keys, site, pid, data), keys)
    sign_in(CODE_A0)  # the pupil also sat the session at the centre
    data = _data(dw, str(uuid.uuid4()), [])
    with pytest.raises(PackageError, match="不能自动合并"):
        ingest(_result(keys, site, pid, data), keys)
    assert Attempt.objects.count() == 1  # nothing of the refused packages kept
    forged = _result(keys, dw.sites["B"], pid, data)  # signed with B's key, claiming A's sessions
    with pytest.raises(PackageError, match="不属于测试点"):
        ingest(forged, keys)
    for bad in ("", "not-a-uuid"):  # the site package it came under is named by its UUID
        with pytest.raises(PackageError, match="没有注明测试点数据包"):
            ingest(_result(keys, site, bad, data), keys)


def test_ingest_refuses_a_package_that_reaches_another_sites_attempts(dw, keys):
    """A site's key speaks for its own sessions only: answers, leases, questionnaire answers or a
    finished questionnaire of an attempt not in the package, or an attempt id the centre holds for
    another site's session, refuse the whole package and change nothing of that attempt."""
    from junheng_web.delivery.models import Answer, Attempt, Lease
    from junheng_web.delivery.services import open_lease, sign_in
    from junheng_web.delivery.sitenode import centre_key, ingest
    from tests.web.delivery.conftest import CODE_B0

    centre_key(keys)
    other = sign_in(CODE_B0)  # site B's pupil, at the centre
    open_lease(other, timezone.now())
    other.refresh_from_db()
    site, pid, mine, at = dw.sites["A"], str(uuid.uuid4()), str(uuid.uuid4()), dw.sessions["A"].starts_at.isoformat()
    stray = {"answers": {"id": str(uuid.uuid4()), "attempt": str(other.pk), "item": "I1", "raw": "D", "seq": 99,
                         "lease": 99, "client_at": at, "received_at": at},
             "leases": {"attempt": str(other.pk), "number": 99, "started_at": at}}
    for key, row in stray.items():
        data = _data(dw, mine, [])
        data[key].append(row)
        with pytest.raises(PackageError, match="不属于本数据包作答"):
            ingest(_result(keys, site, pid, data), keys)
    data = _data(dw, mine, [])
    data["questionnaires_done"] = [[str(other.pk), 1]]
    with pytest.raises(PackageError, match="不属于本数据包作答"):
        ingest(_result(keys, site, pid, data), keys)
    data = _data(dw, str(other.pk), [])  # B's attempt id, claimed for A's session: would move its lease
    data["attempts"][0]["submitted_at"] = at
    with pytest.raises(PackageError, match="其他测试点"):
        ingest(_result(keys, site, pid, data), keys)
    other_now = Attempt.objects.get(pk=other.pk)
    assert (other_now.lease, other_now.submitted_at, other_now.session_id) == (other.lease, None, dw.sessions["B"].pk)
    assert not Answer.objects.exists() and not Lease.objects.filter(number=99).exists()
    assert Attempt.objects.count() == 1


def test_a_sites_keys_do_not_speak_for_the_same_code_in_another_cycle(dw, tmp_path, keys):
    """Site codes recur from cycle to cycle: the keys a site's package carries (as a laptop has
    them) must not sign a result package for the sessions of the same code in another cycle."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from junheng_web.delivery.models import Attempt
    from junheng_web.delivery.sitenode import NODE_FILE, ingest
    from junheng_web.registry.models import Cycle
    from junheng_web.testsites.models import TestSession, TestSite

    made = _prepare(dw, tmp_path, keys)
    site = dw.sites["A"]
    node = json.loads(open_package(made.path.read_bytes(), kind="site", site=site.code,
                                   trusted=load_private(keys).public_key(), unlock_code=made.unlock_code).files[NODE_FILE])
    later = Cycle.objects.create(year=dw.cycle.year + 1, grade=dw.cycle.grade, subjects=["语文"], name="下一轮")
    twin = TestSite.objects.create(cycle=later, county=site.county, code=site.code, name=site.name)
    s = dw.sessions["A"]
    session = TestSession.objects.create(site=twin, subject="语文", room="1", starts_at=s.starts_at, ends_at=s.ends_at)
    data = _data(dw, str(uuid.uuid4()), [])
    data["attempts"][0]["session"] = session.pk
    blob = seal({"results.json": json.dumps(data).encode()}, kind="result", site=site.code, cycle=str(later.pk),
                signer=load_pem_private_key(node["site_key"].encode(), password=None),
                key=bytes.fromhex(node["result_key"]), extra={"site_package": made.package_id})
    with pytest.raises(PackageError, match="签名"):
        ingest(blob, keys)
    assert not Attempt.objects.filter(session=session).exists()


def test_ingest_names_every_malformed_field_of_a_signed_package_and_writes_nothing(dw, keys, tmp_path, cli_refused):
    """A correctly signed package whose records are malformed (a site node of another version, a
    re-signed hand edit): every bad field is named — file, member, record, field, value, rule, in
    Chinese and English — and nothing is written; ``junheng site ingest`` exits 2, no traceback."""
    from click.testing import CliRunner

    from junheng.exceptions import InputError
    from junheng_cli.main import cli
    from junheng_web.delivery.models import Answer, Attempt, Lease, ProctorEvent
    from junheng_web.delivery.sitenode import centre_key, ingest

    centre_key(keys)
    att = str(uuid.uuid4())
    data = _data(dw, att, [("not-a-uuid", "I1", "A", 1, 1), (str(uuid.uuid4()), "I1", "B", True, 1)],
                 events=[{"id": str(uuid.uuid4()), "session": dw.sessions["A"].pk, "student_id": "", "action": "dance",
                          "minutes": None, "note": "a\x00b", "by": "p", "at": "2022-05-10T09:00:00"}])
    del data["leases"][1]["started_at"]
    with pytest.raises(InputError) as got:
        ingest(_result(keys, dw.sites["A"], str(uuid.uuid4()), data), keys, name="A.jhresult")
    where = "A.jhresult › results.json"
    assert {(i.file, i.column, i.value) for i in got.value.errors} == {
        (where, "answers[1].id", "not-a-uuid"), (where, "answers[2].seq", "True"),
        (where, "events[1].action", "dance"), (where, "events[1].note", "a\\x00b"),
        (where, "events[1].at", "2022-05-10T09:00:00"), (where, "leases[2].started_at", None)}
    text = str(got.value)
    assert "应为 UUID" in text and "must be a UUID" in text and "未汇入任何内容" in text and "nothing was ingested" in text
    assert not (Attempt.objects.exists() or Answer.objects.exists() or Lease.objects.exists()
                or ProctorEvent.objects.exists())

    data = _data(dw, att, [(str(uuid.uuid4()), "I1", "A", 1, 1)])
    data["attempts"][0]["booklet"] = 999_999  # well formed, but no such booklet at the centre
    path = tmp_path / "A.jhresult"
    path.write_bytes(_result(keys, dw.sites["A"], str(uuid.uuid4()), data))
    r = CliRunner().invoke(cli, ["site", "ingest", str(path), "--key", str(keys)])
    cli_refused(r, 2, "attempts[1].booklet", "中心没有此题本")
    assert not Attempt.objects.exists()


def _site_records(dw, tmp_path, keys):
    """A prepared package of site A, its records (to edit) and ``reseal(records)``: the package
    again with the edited records, signed by the centre."""
    from junheng_web.delivery.sitenode import NODE_FILE

    made = _prepare(dw, tmp_path, keys)
    code, centre = dw.sites["A"].code, load_private(keys)
    pkg = open_package(made.path.read_bytes(), kind="site", site=code, trusted=centre.public_key(),
                       unlock_code=made.unlock_code)

    def reseal(records):
        return seal({"records.json": json.dumps(records).encode(), NODE_FILE: pkg.files[NODE_FILE]}, kind="site",
                    site=code, cycle="c", signer=centre, unlock_code=made.unlock_code,
                    expires_at=timezone.now() + dt.timedelta(days=1))

    return made, json.loads(pkg.files["records.json"]), reseal


def test_the_node_names_every_malformed_record_of_a_signed_site_package_and_loads_nothing(dw, tmp_path, keys,
                                                                                          monkeypatch):
    """A site package signed by the centre whose records are malformed (a centre of another
    version): every bad record or field is named — file, member, record, field, value — and nothing
    is loaded, not even the records before the bad ones; ``junheng site serve`` exits 2."""
    from click.testing import CliRunner

    from junheng.exceptions import InputError
    from junheng_cli.main import cli
    from junheng_web.delivery.sitenode import node_state, unlock
    from junheng_web.registry.models import School

    made, records, reseal = _site_records(dw, tmp_path, keys)
    code = dw.sites["A"].code
    school = next(k for k, r in enumerate(records) if r["model"] == "registry.school")
    pupil = next(k for k, r in enumerate(records) if r["model"] == "registry.pupil")
    records[school]["fields"]["name"] = "改过的名字"  # well formed: would be saved before the bad ones
    records[pupil]["fields"]["birth_date"] = "2000-13-45"
    records[pupil]["pk"] = "abc"
    records.append({"model": "nosuch.model", "pk": 1, "fields": {}})
    blob = reseal(records)
    home = tmp_path / "node"
    home.mkdir()
    with pytest.raises(InputError) as got:
        unlock(blob, home=home, site=code, unlock_code=made.unlock_code, centre_public=tmp_path / "out" / "centre.pub.pem",
               name="A.jhsite")
    where = "A.jhsite › records.json"
    assert {(i.file, i.column, i.value) for i in got.value.errors} == {
        (where, f"[{pupil + 1}].pk", "abc"), (where, f"[{pupil + 1}].birth_date", "2000-13-45"),
        (where, f"[{len(records)}].model", "nosuch.model")}
    assert "未载入任何内容" in str(got.value) and "nothing was loaded" in str(got.value)
    assert School.objects.get(pk=records[school]["pk"]).name != "改过的名字" and node_state(home) is None

    path = tmp_path / "A.jhsite"
    path.write_bytes(blob)
    for var in ("JUNHENG_HOME", "JUNHENG_DATABASE_URL", "DJANGO_SETTINGS_MODULE"):  # serve sets them: restored after
        monkeypatch.setenv(var, os.environ.get(var, ""))
    r = CliRunner().invoke(cli, ["site", "serve", str(path), "--site", code, "--centre-key",
                                 str(tmp_path / "out" / "centre.pub.pem"), "--home", str(home), "--unlock-code",
                                 made.unlock_code, "--load-only", "--http"])
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit), r.output
    assert f"[{pupil + 1}].birth_date" in r.output and "A.jhsite" in r.output


def test_ingest_names_records_the_database_would_refuse_and_writes_nothing(dw, keys):
    """Well-formed fields the merge cannot write: one attempt twice (the same id, or the same pupil
    and session under two ids — the database's unique keys), a time whose UTC value falls before
    year 1, a top-level member that is not a list.  A message naming each, never a traceback."""
    from junheng.exceptions import InputError
    from junheng_web.delivery.models import Attempt
    from junheng_web.delivery.sitenode import centre_key, ingest

    centre_key(keys)
    att = str(uuid.uuid4())
    data = _data(dw, att, [])
    twin = dict(data["attempts"][0], id=str(uuid.uuid4()))  # the same pupil and session, another id
    data["attempts"] += [dict(data["attempts"][0]), twin]
    data["leases"][0]["started_at"] = "0001-01-01T00:00:00+05:00"
    with pytest.raises(InputError) as got:
        ingest(_result(keys, dw.sites["A"], str(uuid.uuid4()), data), keys, name="A.jhresult")
    assert {i.column for i in got.value.errors} == {"attempts[2].id", "attempts[3].student_id",
                                                      "leases[1].started_at"}
    assert not Attempt.objects.exists()

    data = _data(dw, att, [])
    data["note"] = 5  # a member this platform does not read: ignored, not counted with len()
    assert ingest(_result(keys, dw.sites["A"], str(uuid.uuid4()), data), keys)["attempts"] == 1


def test_ingest_refuses_a_booklet_or_questionnaire_of_another_cycle(dw, keys):
    """A site's key speaks for its own cycle: a result package naming another cycle's booklet or
    questionnaire (finished: ``questionnaires_done`` would write the pupil's response into that
    cycle's questionnaire) is refused and nothing is written."""
    from junheng.exceptions import InputError
    from junheng_web.assessment.models import Booklet
    from junheng_web.delivery.models import Attempt
    from junheng_web.delivery.sitenode import centre_key, ingest
    from junheng_web.questionnaires.models import Questionnaire, QuestionnaireResponse
    from junheng_web.registry.models import Cycle

    centre_key(keys)
    later = Cycle.objects.create(year=dw.cycle.year + 1, grade=dw.cycle.grade, subjects=["语文"], name="下一轮")
    q = Questionnaire.objects.create(cycle=later, code="S1", title="学生问卷", respondent="student", definition={})
    booklet = Booklet.objects.create(cycle=later, code="X1", subject=dw.delivery["booklet"].subject)
    att = str(uuid.uuid4())
    data = _data(dw, att, [])
    data["questionnaires_done"] = [[att, q.pk]]
    data["attempts"][0]["booklet"] = booklet.pk
    with pytest.raises(InputError) as got:
        ingest(_result(keys, dw.sites["A"], str(uuid.uuid4()), data), keys, name="A.jhresult")
    assert {i.column for i in got.value.errors} == {"attempts[1].booklet", "questionnaires_done[1]"}
    assert not Attempt.objects.exists() and not QuestionnaireResponse.objects.exists()


def test_the_node_names_a_record_the_database_refuses_and_loads_nothing(dw, tmp_path, keys):
    """A signed site package whose records are well typed but beyond what the database takes (a
    whole number past the column's range): one message, nothing loaded — no traceback."""
    from junheng.exceptions import InputError
    from junheng_web.delivery.sitenode import node_state, unlock
    from junheng_web.registry.models import School

    made, records, reseal = _site_records(dw, tmp_path, keys)
    code = dw.sites["A"].code
    school = next(k for k, r in enumerate(records) if r["model"] == "registry.school")
    cycle = next(k for k, r in enumerate(records) if r["model"] == "registry.cycle")
    records[school]["fields"]["name"] = "改过的名字"
    records[cycle]["fields"]["year"] = 2**70
    blob = reseal(records)
    home = tmp_path / "node"
    home.mkdir()
    with pytest.raises(InputError, match="未载入任何内容"):
        unlock(blob, home=home, site=code, unlock_code=made.unlock_code, centre_public=tmp_path / "out" / "centre.pub.pem",
               name="A.jhsite")
    assert School.objects.get(pk=records[school]["pk"]).name != "改过的名字" and node_state(home) is None


def test_ingest_refuses_an_attempt_of_a_pupil_the_site_does_not_hold(dw, keys):
    """A site's key speaks for its own pupils: an attempt (in the site's own session) of a pupil of
    another site's schools — whose questionnaire response ``questionnaires_done`` would overwrite,
    and whose answers would enter scoring — is refused, naming the record; nothing is written."""
    from junheng.exceptions import InputError
    from junheng_web.delivery.models import Attempt
    from junheng_web.delivery.sitenode import centre_key, ingest

    centre_key(keys)
    data = _data(dw, str(uuid.uuid4()), [])
    data["attempts"][0]["student_id"] = dw.pupils["B"][0].student_id
    with pytest.raises(InputError) as got:
        ingest(_result(keys, dw.sites["A"], str(uuid.uuid4()), data), keys, name="A.jhresult")
    assert [(i.column, i.value) for i in got.value.errors] == [("attempts[1].student_id", dw.pupils["B"][0].student_id)]
    assert not Attempt.objects.exists()


def test_ingest_merges_the_pages_heartbeat_spans_once_and_grows_them(dw, keys):
    """The node's heartbeat spans (the backdated-answers rule's evidence) reach the centre: a span is
    keyed by (attempt, lease, first heartbeat); a later export of the node with the span grown
    extends it, the same package again or an older one changes nothing; a span of an attempt not in
    the package refuses it, and a malformed span is named."""
    from junheng.exceptions import InputError
    from junheng_web.delivery.models import PageContact
    from junheng_web.delivery.sitenode import centre_key, ingest

    centre_key(keys)
    site, pid, att = dw.sites["A"], str(uuid.uuid4()), str(uuid.uuid4())
    t = dw.sessions["A"].starts_at

    def with_spans(*spans):
        data = _data(dw, att, [])
        data["contacts"] = [{"attempt": att, "lease": lease, "first_at": (t + dt.timedelta(seconds=a)).isoformat(),
                             "last_at": (t + dt.timedelta(seconds=b)).isoformat(), "beats": n, "gap_s": 25.0}
                            for lease, a, b, n in spans]
        return data

    early = with_spans((1, 0, 60, 7))
    late = with_spans((1, 0, 300, 31), (2, 400, 410, 2))
    ingest(_result(keys, site, pid, early), keys)
    ingest(_result(keys, site, pid, late), keys)
    ingest(_result(keys, site, pid, late), keys)
    ingest(_result(keys, site, pid, early), keys)
    spans = sorted(PageContact.objects.values_list("lease", "first_at", "last_at", "beats"))
    assert spans == [(1, t, t + dt.timedelta(seconds=300), 31),
                     (2, t + dt.timedelta(seconds=400), t + dt.timedelta(seconds=410), 2)]
    stray = with_spans((1, 0, 60, 7))
    stray["contacts"][0]["attempt"] = str(uuid.uuid4())
    with pytest.raises(PackageError, match="不属于本数据包作答"):
        ingest(_result(keys, site, pid, stray), keys)
    bad = with_spans((1, 0, 60, 7))
    bad["contacts"][0]["gap_s"] = "soon"
    with pytest.raises(InputError) as got:
        ingest(_result(keys, site, pid, bad), keys, name="A.jhresult")
    assert [(i.column, i.value) for i in got.value.errors] == [("contacts[1].gap_s", "soon")]
    assert PageContact.objects.count() == 2
