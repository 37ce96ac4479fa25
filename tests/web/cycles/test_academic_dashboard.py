"""The academic dashboard: figures equal a hand-written JK2 + Rubin computation and the CLI's
``junheng survey estimate`` on the same exported scores and weights (1e-9); unweighted without
weights; region scope (another county → 404, school roles → 403)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from django.urls import reverse

pytestmark = pytest.mark.django_db

STATS = {"level1": [1], "level2": [2], "level3": [3], "level4": [4], "mid_plus": [2, 3, 4], "good_plus": [3, 4]}


@pytest.fixture
def surveyed(academic):
    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Region, School

    cycle = academic.build()
    users = {
        "province": User.objects.create(username="p", role="province_analyst"),
        "city": User.objects.create(username="c", role="city", region=Region.objects.get(code="410100")),
        "a": User.objects.create(username="a", role="county", region=Region.objects.get(code="410102")),
        "school": User.objects.create(username="s", role="school", school=School.objects.filter(
            county__code="410102").first()),
    }
    users["proctor"] = User.objects.create(username="pr", role="proctor", school=users["school"].school)
    return cycle, users


def exported(cycle) -> pl.DataFrame:
    """What a researcher would export: the stored scores joined to the stored weight set's file."""
    from junheng_web.assessment.scores import scores_frame
    from junheng_web.sampling.models import WeightSet

    ws = WeightSet.objects.filter(run__cycle=cycle).first()
    w = pl.read_parquet(ws.path).select("student_id", "weight", pl.col("^rep_\\d+$"))
    return scores_frame(cycle).join(w, on="student_id", how="inner")


def jk2_rubin(data: pl.DataFrame, values: list[np.ndarray]) -> tuple[float, float]:
    """Σw·x/Σw per PV on the full and every replicate weight, V = Σ_r (θ_r − θ)², Rubin's rules."""
    w = data.select("weight", *sorted((c for c in data.columns if c.startswith("rep_")),
                                      key=lambda c: int(c[4:]))).to_numpy()
    thetas = np.array([(w * x[:, None]).sum(0) / w.sum(0) for x in values])  # (M, R + 1)
    est = thetas[:, 0]
    var = ((thetas[:, 1:] - est[:, None]) ** 2).sum(1)
    m = len(values)
    return est.mean(), float(np.sqrt(var.mean() + (1 + 1 / m) * est.var(ddof=1)))


def test_it_equals_a_hand_written_jk2_and_rubin_computation(client, surveyed):
    cycle, users = surveyed
    data = exported(cycle)
    client.force_login(users["city"])
    page = client.get(reverse("academic_region_json", kwargs={"pk": cycle.pk, "code": "410100"})).json()
    assert page["weighted"] is True and page["part_key"] == "county_code"
    assert [r["subject"] for r in page["overall"]] == ["语文", "数学"]  # the cycle's order of subjects
    assert {(p["subject"], p["code"]) for p in page["parts"]} == {(s, c) for s in ("数学", "语文")
                                                                   for c in ("410102", "410103")}
    for p in page["parts"]:
        g = data.filter((pl.col("subject") == p["subject"]) & (pl.col("county_code") == p["code"]))
        assert p["flag"] is None and p["n_pupils"] == g.filter(pl.col("weight") > 0).height >= 62
        est, se = jk2_rubin(g, [g[f"pv{k}"].to_numpy() for k in range(1, 6)])
        assert (p["mean"], p["mean_se"]) == pytest.approx((est, se), rel=1e-12)
        for name, levels in STATS.items():
            est, se = jk2_rubin(g, [g[f"level_pv{k}"].is_in(levels).cast(pl.Float64).to_numpy() for k in range(1, 6)])
            assert (p[name], p[f"{name}_se"]) == pytest.approx((est, se), rel=1e-12, abs=1e-15), (p["code"], name)
        assert p["level1"] + p["level2"] + p["level3"] + p["level4"] == pytest.approx(1.0)
        assert p["mid_plus"] == pytest.approx(1 - p["level1"]) and p["mid_plus_se"] == pytest.approx(p["level1_se"])


def _cli(data_path, out, *args) -> pl.DataFrame:
    from junheng_cli.main import cli

    res = CliRunner().invoke(cli, ["survey", "estimate", str(data_path), "--weight", "weight", "--replicates", "rep_*",
                                   "--method", "jk2", *args, "-o", str(out)])
    assert res.exit_code == 0, res.output
    return pl.read_parquet(out)


@pytest.mark.parametrize("who,code,key", [("province", None, "city_code"), ("city", "410100", "county_code"),
                                          ("a", "410102", "school_code")])
def test_it_equals_the_cli_on_the_same_exported_scores_and_weights(client, surveyed, tmp_path, who, code, key):
    cycle, users = surveyed
    path = tmp_path / "data.parquet"
    exported(cycle).write_parquet(path)
    client.force_login(users[who])
    url = reverse("academic_json", kwargs={"pk": cycle.pk}) if code is None else reverse(
        "academic_region_json", kwargs={"pk": cycle.pk, "code": code})
    page = client.get(url).json()
    if code is not None:  # the CLI sees the region's rows only, as the page does
        pl.read_parquet(path).filter(pl.col("city_code" if code.endswith("00") else "county_code") == code
                                     ).write_parquet(path)
    for level, by in (("overall", "subject"), ("parts", f"subject,{key}")):
        rows = page[level]
        keyof = (lambda r: r["subject"]) if level == "overall" else (lambda r: (r["subject"], r[key]))
        cli_mean = _cli(path, tmp_path / "mean.parquet", "--pv", "pv*", "--by", by)
        assert len(rows) == cli_mean.height > 0
        expected = {keyof(r): r for r in cli_mean.to_dicts()}
        for r in rows:
            e = expected[keyof(r)]
            assert (r["n_pupils"], r["n_schools"], r["flag"]) == (e["n_pupils"], e["n_schools"], e["flag"])
            for mine, theirs in (("mean", "estimate"), ("mean_se", "se")):
                assert (r[mine] is None) == (e[theirs] is None)
                if e[theirs] is not None:
                    assert abs(r[mine] - e[theirs]) <= 1e-9, (level, keyof(r), mine)
        for name, levels in STATS.items():
            lv = [x for v in levels for x in ("--level", str(v))]
            cli_p = _cli(path, tmp_path / f"{name}.parquet", "--statistic", "proportion", "--pv", "level_pv*", *lv,
                         "--by", by)
            expected = {keyof(r): r for r in cli_p.to_dicts()}
            for r in rows:
                e = expected[keyof(r)]
                for mine, theirs in ((name, "estimate"), (f"{name}_se", "se")):
                    assert (r[mine] is None) == (e[theirs] is None)
                    if e[theirs] is not None:
                        assert abs(r[mine] - e[theirs]) <= 1e-9, (level, keyof(r), mine)
    if key == "school_code":  # one school is one PSU (< 5): withheld, its pupils counted
        assert page["parts"] and all(p["mean"] is None and p["flag"] and p["n_pupils"] > 0 for p in page["parts"])
        assert all(r["mean"] is not None for r in page["overall"])


def test_without_weights_it_is_unweighted_and_says_so(client, academic):
    from junheng_web.accounts.models import User

    cycle = academic.build(weights=False)
    client.force_login(User.objects.create(username="p", role="province_admin"))
    data = client.get(reverse("academic_json", kwargs={"pk": cycle.pk})).json()
    assert data["weighted"] is False
    frame = academic.scores_for(academic.sampled(cycle))
    for r in data["overall"]:
        g = frame.filter(pl.col("subject") == r["subject"])
        assert r["mean"] == pytest.approx(np.mean([g[f"pv{k}"].mean() for k in range(1, 6)]), rel=1e-12)
        assert r["good_plus"] == pytest.approx(np.mean([(g[f"level_pv{k}"] >= 3).mean() for k in range(1, 6)]))
        assert r["mean_se"] is None and r["good_plus_se"] is None
    page = client.get(reverse("academic", kwargs={"pk": cycle.pk})).content.decode()
    assert "未加权" in page


def test_the_page_shows_the_figures_and_links_the_parts(client, surveyed):
    cycle, users = surveyed
    client.force_login(users["city"])
    data = client.get(reverse("academic_region_json", kwargs={"pk": cycle.pk, "code": "410100"})).json()
    page = client.get(reverse("academic_region", kwargs={"pk": cycle.pk, "code": "410100"})).content.decode()
    assert "学业质量结果" in page and "按最终抽样权重加权" in page and 'id="academic-chart"' in page
    p = data["parts"][0]
    assert f"{p['mean']:.1f}" in page and f"{p['good_plus'] * 100:.1f}%" in page
    assert reverse("academic_region", kwargs={"pk": cycle.pk, "code": "410102"}) in page
    fitness = client.get(reverse("dashboard", kwargs={"pk": cycle.pk})).content.decode()
    assert reverse("academic", kwargs={"pk": cycle.pk}) in fitness and "学业质量水平将在" not in fitness
    home = client.get("/").content.decode()
    assert f"/cycles/{cycle.pk}/academic/" in home


def test_the_figures_are_cached_until_the_scores_change(client, surveyed, academic):
    from junheng_web.assessment.scores import store_scores

    cycle, users = surveyed
    client.force_login(users["a"])
    url = reverse("academic_region_json", kwargs={"pk": cycle.pk, "code": "410102"})
    before = client.get(url).json()
    assert client.get(url).json() == before
    values = ["scale_score", *[f"pv{k}" for k in range(1, 6)]]
    frame = academic.scores_for(academic.sampled(cycle)).with_columns(pl.col(values) + 10)  # order kept in each row
    store_scores(cycle, frame)
    after = client.get(url).json()
    assert after["overall"][0]["mean"] == pytest.approx(before["overall"][0]["mean"] + 10)
    lowest = pl.min_horizontal("scale_score", *[f"pv{k}" for k in range(1, 6)]) - 1  # still a consistent row
    store_scores(cycle, frame.with_columns(lowest.alias("pv4"), pl.lit(1, pl.Int8).alias("level_pv4")))
    assert client.get(url).json()["overall"][0]["level1"] > after["overall"][0]["level1"]


def test_a_county_user_cannot_see_another_county_and_school_roles_are_refused(client, surveyed):
    cycle, users = surveyed
    client.force_login(users["a"])
    for name in ("academic_region", "academic_region_json"):
        assert client.get(reverse(name, kwargs={"pk": cycle.pk, "code": "410103"})).status_code == 404
        assert client.get(reverse(name, kwargs={"pk": cycle.pk, "code": "410100"})).status_code == 404
        assert client.get(reverse(name, kwargs={"pk": cycle.pk, "code": "410102"})).status_code == 200
    own = client.get(reverse("academic_json", kwargs={"pk": cycle.pk})).json()
    assert own["region"] == "410102" and own["part_key"] == "school_code"
    for who in ("school", "proctor"):
        client.force_login(users[who])
        for name, kw in (("academic", {}), ("academic_json", {}), ("academic_region", {"code": "410102"})):
            assert client.get(reverse(name, kwargs={"pk": cycle.pk, **kw})).status_code == 403


def test_the_page_is_complete_in_english(client, surveyed):
    import re

    from django.conf import settings

    cycle, users = surveyed
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(users["a"])
    page = client.get(reverse("academic", kwargs={"pk": cycle.pk})).content.decode()
    body = page[page.index("<main"):page.index("</main>")] if "<main" in page else page
    # data (region, school and subject names, the cycle's name) aside, no Chinese is left
    for data in ("中原区", "语文", "数学", "2022 年六年级监测", "小学", "第"):
        body = body.replace(data, "")
    assert "Academic results" in body and "Level III and above" in body and "Weighted by the final" in body
    assert re.findall(r"[\u4e00-\u9fff]+", body) == []


def test_before_any_score_is_stored_it_says_so(client, academic):
    from junheng_web.accounts.models import User

    cycle = academic.build(scores=False)
    client.force_login(User.objects.create(username="p", role="province_admin"))
    assert client.get(reverse("academic_json", kwargs={"pk": cycle.pk})).json() == {
        "region": None, "overall": [], "parts": [], "part_key": "city_code", "weighted": False}
    assert "尚无学业测试成绩" in client.get(reverse("academic", kwargs={"pk": cycle.pk})).content.decode()
