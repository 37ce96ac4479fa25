"""Issue 17.6: the Chinese UI is Chinese — every page each role reaches, rendered in zh-hans, has
no ASCII word outside an allow-list (codes, file formats, units and proper names people use in
Chinese too), and no developer text (commands, internal names, storage paths)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

pytestmark = pytest.mark.django_db

# words a Chinese user reads as they are: the product's name, file formats, units, codes
ALLOWED = {
    "junheng", "Excel", "PDF", "CSV", "xlsx", "xls", "csv", "pdf", "json", "JSON", "IP", "ID", "QR", "BMI",
    "English", "GB", "MB", "KB", "cm", "kg", "m", "Q", "PV", "SE", "HTML", "html", "geojson",
}
DEVELOPER = ("junheng fitness", "junheng report", "manage.py", "MEDIA_ROOT", "JUNHENG_", "/uploads/", "Traceback",
             "None", "True", "False")


class _Text(HTMLParser):
    """The text a person reads: text nodes outside script/style, plus placeholders, titles and button values."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code"):
            self._skip += 1
        for k, v in attrs:
            if k in ("placeholder", "title", "aria-label", "alt") and v:
                self.parts.append(v)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return " ".join(p.parts)


def stray_words(text: str) -> set[str]:
    words = set(re.findall(r"(?<![A-Za-z0-9_./@-])[A-Za-z]{2,}(?![A-Za-z0-9_@])", text))
    return {w for w in words if w not in ALLOWED}


def _pages(w) -> list[tuple[str, str]]:
    c = w.cycle.pk
    return [
        ("home", "/"), ("cycles", "/cycles/"), ("cycle", f"/cycles/{c}/"), ("schools", f"/cycles/{c}/schools/"),
        ("sites", f"/cycles/{c}/sites/"), ("site", f"/cycles/{c}/sites/{w.sites['A'].pk}/"),
        ("upload roster", f"/cycles/{c}/upload/roster/"), ("upload fitness", f"/cycles/{c}/upload/fitness/"),
        ("upload questionnaire", f"/cycles/{c}/upload/questionnaire/"), ("status", f"/cycles/{c}/status/"),
        ("progress", f"/cycles/{c}/progress/"), ("dashboard", f"/cycles/{c}/dashboard/"),
        ("academic", f"/cycles/{c}/academic/"), ("questionnaires", f"/questionnaires/{c}/"),
        ("reports", "/reports/"), ("job", f"/jobs/{w.jobs['A'].pk}/"), ("video", "/video/"),
        ("audit", "/accounts/audit/"), ("search", "/search/?q=甲"), ("missing", "/no-such-page/"),
        ("failed job", f"/jobs/{w.jobs['failed'].pk}/"),
    ]


@pytest.mark.parametrize("who", ["alice", "frank", "bob", "dave", "paul", "rita"])
def test_every_page_of_each_role_is_chinese(client, world, who):
    from junheng_web.accounts.models import AuditLog
    from junheng_web.jobs.models import Job

    for action in ("view", "export", "upload", "search", "download-unmasked"):
        AuditLog.objects.create(username="bob", action=action, what="x", path="/x", region_code="410102")
    Job.objects.filter(pk=world.jobs["A"].pk).update(result={"rows": 6, "created": 4, "updated": 1, "unchanged": 1})
    world.jobs["failed"] = Job.objects.create(kind="fitness", status="failed", cycle=world.cycle, county=world.regions["A"],
                       school=world.schools["A"], error="体测.xlsx: 体测数据有 1 处错误，未写入任何数据 / 体测.xlsx: the fitness file has 1 error(s); "
                             "nothing was written",
                       params={"name": "体测.xlsx"},
                       issues=[{"file": "体测.xlsx", "sheet": "Sheet1", "row": 3, "column": "性别", "value": "男性",
                                "rule_zh": "性别须为 1（男）或 2（女）", "rule_en": "sex must be 1 or 2",
                                "severity": "error", "message": "体测.xlsx 第3行 性别: 性别须为 1（男）或 2（女）"}])
    from junheng_web.supervision.models import Flag

    flag = Flag.objects.create(session=world.sessions["A"], kind="copying", severity="serious", score=6.1,
                               start_s=0, end_s=0, person_id=world.pupils["A"][0].student_id,
                               other_id=world.pupils["A"][1].student_id,
                               detail="ω = 6.10；40 题中 35 题与 X 的作答相同（期望 17.2） / ω = 6.10; 35 of 40 answers as "
                                      "X's, 17.2 expected")
    seen = 0
    client.force_login(world.users[who])
    found = {}
    for name, url in [*_pages(world), ("flag", f"/video/flags/{flag.pk}/")]:
        resp = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        if resp.status_code in (302, 403) and name != "missing":
            continue
        seen += 1
        text = visible_text(resp.content.decode())
        words = stray_words(text) - set(world.users)  # account names are data, not UI
        dev = [d for d in DEVELOPER if d in text]
        if words or dev:
            found[name] = (sorted(words), dev)
    assert found == {}, found
    assert seen >= 8  # the role reached pages (not only redirects)


def test_the_scan_finds_english_and_developer_text():
    text = visible_text('<p>rows 3 · <b>created</b> 2</p><script>var x = "ignored";</script>'
                        '<input placeholder="Search"><code>/x/y</code> <p>与命令 junheng fitness summary 一致</p>')
    assert stray_words(text) == {"rows", "created", "Search", "fitness", "summary"}
    assert stray_words("导出 Excel · 50 cm · GB18030 · 4101020001") == set()
