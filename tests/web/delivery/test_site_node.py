"""The test-site node end to end (issue 15.1): the centre prepares site A's package; a laptop
(``junheng site serve`` in a subprocess: its own SQLite, real gunicorn on a free port) unlocks it,
a pupil signs in and answers over HTTPS (the site's certificate from the package, the province test
CA as the only trust root), the proctor reports an incident in the node's console; the
laptop exports its result package and the centre ingests it — once, then again changing nothing.
A tampered byte, another centre's key, another site and a wrong unlock code are refused."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from junheng.site import PackageError, new_signing_key, private_pem, site_host
from tests.web.delivery.conftest import CODE_A0
from tests.web.test_serve import _port, wait_for

pytestmark = [pytest.mark.django_db, pytest.mark.integration]
PASSWORD = "proctor-pass-2026"


def _junheng(*args, check=True):
    env = {k: v for k, v in os.environ.items() if k not in ("JUNHENG_DATABASE_URL", "JUNHENG_SECRET_KEY")}
    r = subprocess.run([sys.executable, "-m", "junheng_cli.main", *args], env=env, capture_output=True, text=True,
                       timeout=300)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


class Browser:
    """A pupil's or proctor's browser: cookies kept, CSRF token sent back."""

    def __init__(self, base, context=None):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect, urllib.request.HTTPSHandler(context=context))

    def get(self, path, headers=None):
        return self._open(urllib.request.Request(self.base + path, headers=headers or {}))

    def post(self, path, data, token, as_json=False):
        body = json.dumps(data).encode() if as_json else urllib.parse.urlencode({**data,
                                                                                "csrfmiddlewaretoken": token}).encode()
        headers = {"X-CSRFToken": token, "Referer": self.base + path, "Content-Type": "application/json" if as_json
                   else "application/x-www-form-urlencoded"}
        return self._open(urllib.request.Request(self.base + path, data=body, headers=headers))

    def _open(self, req):
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _token(page):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


@pytest.fixture
def prepared(dw, tmp_path):
    from junheng_web.delivery.sitenode import prepare

    made = prepare(dw.cycle, tmp_path / "out", tmp_path / "keys" / "centre.pem", sites=[dw.sites["A"].code])
    assert [m.site for m in made] == [dw.sites["A"].code] and made[0].pupils >= 2
    return made[0]


def test_prepare_serve_answer_export_ingest(dw, tmp_path, prepared):
    from junheng_web.delivery.models import Answer, Attempt, ProctorEvent, SiteResult
    from junheng_web.delivery.sitenode import ingest

    blob = prepared.path.read_bytes()
    assert CODE_A0.encode() not in blob and dw.pupils["A"][0].name.encode() not in blob
    node, pub = tmp_path / "node", tmp_path / "out" / "centre.pub.pem"
    port, site = _port(), dw.sites["A"].code
    env = {k: v for k, v in os.environ.items() if k not in ("JUNHENG_DATABASE_URL", "JUNHENG_SECRET_KEY")}
    proc = subprocess.Popen([sys.executable, "-m", "junheng_cli.main", "site", "serve", str(prepared.path), "--site", site,
                             "--centre-key", str(pub), "--home", str(node), "--unlock-code", prepared.unlock_code,
                             "--proctor-password", PASSWORD, "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1", "--threads", "4"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    base, answer_id = f"https://127.0.0.1:{port}", str(uuid.uuid4())
    trust = ssl.create_default_context(cafile=str(tmp_path / "out" / "junheng-test-ca.crt"))  # the CA only
    try:
        wait_for(proc, base + "/test/", context=trust)
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):  # not a public CA's
            urllib.request.urlopen(base + "/test/", timeout=5, context=ssl.create_default_context())
        # the served certificate is for the site's fixed name (as a browser typing it would check)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                trust.wrap_socket(raw, server_hostname=site_host(site)) as tls_sock:
            assert tls_sock.version() in ("TLSv1.2", "TLSv1.3")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, pytest.raises(ssl.SSLCertVerificationError):
            trust.wrap_socket(raw, server_hostname="other.kaodian.local")
        pupil = Browser(base, trust)
        status, page = pupil.get("/test/")
        assert status == 200
        status, _ = pupil.post("/test/", {"code": CODE_A0}, _token(page))
        assert status == 302
        status, take = pupil.get("/test/take/")
        assert status == 200 and '"key"' not in take
        data = json.loads(re.search(r'<script id="delivery-data" type="application/json">(.*?)</script>', take,
                                    re.S).group(1))
        change = {"id": answer_id, "item": "I1", "raw": "B", "seq": 1, "lease": data["lease"],
                  "at": int(time.time() * 1000)}
        status, body = pupil.post("/test/answers/", {"lease": data["lease"], "answers": [change]}, _token(take),
                                  as_json=True)
        assert status == 200 and json.loads(body)["ack"] == [answer_id]
        # the idle page's heartbeat (stamped): recorded on the node, carried to the centre in the package
        status, _ = pupil.get(f"/test/status/?lease={data['lease']}&at={int(time.time() * 1000)}")
        assert status == 200
        # the proctor on the node: sign in, open the session's console, report an incident
        proctor = Browser(base, trust)
        _, login = proctor.get("/accounts/login/")
        status, _ = proctor.post("/accounts/login/", {"username": "proctor", "password": PASSWORD}, _token(login))
        assert status == 302
        status, index = proctor.get("/test/sessions/")
        assert status == 200 and f"/test/sessions/{dw.sessions['A'].pk}/" in index
        status, console = proctor.get(f"/test/sessions/{dw.sessions['A'].pk}/")
        assert status == 200 and "答题中" in console
        status, _ = proctor.post(f"/test/sessions/{dw.sessions['A'].pk}/act/", {"action": "incident",
                                                                                 "note": "3 号机死机，换机"}, _token(console))
        assert status == 302
        # a public host name is refused; a private LAN address is not
        assert pupil.get("/test/", {"Host": "example.com"})[0] == 400
        assert pupil.get("/test/", {"Host": "192.168.1.20:8000"})[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result = tmp_path / "A.jhresult"
    _junheng("site", "export", "--home", str(node), "-o", str(result))
    key = tmp_path / "keys" / "centre.pem"
    got = ingest(result.read_bytes(), key)
    assert got["again"] is False and got["attempts"] == 1 and got["answers"] == 1 and got["events"] == 1
    answer = Answer.objects.get(pk=answer_id)
    assert answer.raw == "B" and answer.client_at is not None and answer.attempt.session == dw.sessions["A"]
    assert ProctorEvent.objects.get(session=dw.sessions["A"]).note == "3 号机死机，换机"
    again = ingest(result.read_bytes(), key)
    assert again == {"site": dw.sites["A"].code, "again": True, "attempts": 0, "answers": 0, "events": 0}
    assert SiteResult.objects.count() == 1 and Attempt.objects.count() == 1
    from junheng_web.delivery.models import PageContact

    assert list(PageContact.objects.values_list("attempt_id", "lease", "beats")) == [(answer.attempt_id, data["lease"], 1)]
    # refused: a changed byte, another centre's key
    blob = result.read_bytes()
    for at in (30, len(blob) // 2, len(blob) - 1):
        with pytest.raises(PackageError):
            ingest(blob[:at] + bytes([blob[at] ^ 1]) + blob[at + 1:], key)
    other = tmp_path / "other.pem"
    other.write_bytes(private_pem(new_signing_key()))
    with pytest.raises(PackageError, match="签名"):
        ingest(blob, other)
    # the CLI on a centre database without the site (the subprocess's own): exit 2, a message, no traceback
    r = _junheng("site", "ingest", str(result), "--key", str(key), check=False)
    assert r.returncode == 2 and f"中心没有测试点 {dw.sites['A'].code}" in r.stderr and "Traceback" not in r.stderr


def test_the_node_refuses_another_site_a_wrong_code_and_a_changed_package(dw, tmp_path, prepared):
    pub = tmp_path / "out" / "centre.pub.pem"
    args = ["site", "serve", str(prepared.path), "--centre-key", str(pub), "--load-only",
            "--proctor-password", PASSWORD]
    r = _junheng(*args, "--site", dw.sites["B"].code, "--home", str(tmp_path / "n1"), "--unlock-code",
                 prepared.unlock_code, check=False)
    assert r.returncode == 2 and f"不是本测试点 {dw.sites['B'].code}" in r.stderr and "Traceback" not in r.stderr
    r = _junheng(*args, "--site", dw.sites["A"].code, "--home", str(tmp_path / "n2"), "--unlock-code",
                 "AAAAA-BBBBB-CCCCC-DDDDD", check=False)
    assert r.returncode == 2 and "解锁码不正确" in r.stderr
    bad = tmp_path / "bad.jhsite"
    blob = prepared.path.read_bytes()
    bad.write_bytes(blob[:-5] + bytes([blob[-5] ^ 1]) + blob[-4:])
    r = _junheng("site", "serve", str(bad), "--centre-key", str(pub), "--load-only", "--site", dw.sites["A"].code,
                 "--home", str(tmp_path / "n3"), "--unlock-code", prepared.unlock_code, check=False)
    assert r.returncode == 2 and "篡改" in r.stderr
    r = _junheng(*args, "--site", dw.sites["A"].code, "--home", str(tmp_path / "n4"), "--unlock-code",
                 prepared.unlock_code.lower())
    assert "已载入" in r.stdout
