"""``junheng delivery export``: the cycle's answers as raw responses that score by the hand key;
person ids pseudonymous (attempt UUIDs) unless ``--unmask``; an unknown cycle exits 2."""

from __future__ import annotations

import uuid

import polars as pl
import pytest
from click.testing import CliRunner

from junheng_cli.main import cli
from tests.web.delivery.conftest import CODE_A0

pytestmark = pytest.mark.django_db


def test_it_exports_responses_that_score(dw, tmp_path):
    from junheng.assessment import score_responses
    from junheng_web.assessment.services import bank_from_db
    from junheng_web.delivery.services import Change, record_answers, sign_in

    a = sign_in(CODE_A0)
    record_answers(a, [Change(uuid.uuid4(), "I1", "B", 1), Change(uuid.uuid4(), "I2", "A", 2)])
    out = tmp_path / "raw.parquet"
    r = CliRunner().invoke(cli, ["delivery", "export", "--year", "2022", "--subject", "语文", "-o", str(out)])
    assert r.exit_code == 0, r.output
    frame = pl.read_parquet(out)
    assert frame["person_id"].unique().to_list() == [a.pk.hex]  # no 学籍号 in the file by default
    scored = score_responses(frame, bank_from_db("语文"))
    # I1 B = key → 1; I2 A only (key AC, 2 points, a subset) → 1; I3, I4 blank at the end → not reached
    assert scored.select("item_id", "status", "score").rows() == [
        ("I1", "valid", 1), ("I2", "valid", 1), ("I3", "not_reached", None), ("I4", "not_reached", None)]
    r = CliRunner().invoke(cli, ["delivery", "export", "--year", "2022", "--unmask", "-o", str(out)])
    assert r.exit_code == 0 and pl.read_parquet(out)["person_id"].unique().to_list() == [a.student_id]


def test_an_unknown_cycle_exits_2(dw, tmp_path):
    r = CliRunner().invoke(cli, ["delivery", "export", "--year", "2030", "-o", str(tmp_path / "x.csv")])
    assert r.exit_code == 2 and "2030" in r.output


def test_site_prepare_puts_the_declared_address_in_the_certificate_and_refuses_a_malformed_one(dw, tmp_path):
    """``junheng site prepare --site-ip SITE=IP``: the CA certificate beside the packages, the address
    in the site's certificate; ``--site-ip`` without ``=`` exits 2 with a message."""
    import json

    from junheng.site import certificate_names, load_private, open_package
    from junheng_web.delivery.sitenode import NODE_FILE

    code, key, out = dw.sites["A"].code, tmp_path / "keys" / "centre.pem", tmp_path / "out"
    r = CliRunner().invoke(cli, ["site", "prepare", "--year", "2022", "--site", code, "-o", str(out), "--key", str(key),
                                 "--codes", str(tmp_path / "codes.csv"), "--site-ip", f"{code}=10.1.2.3"])
    assert r.exit_code == 0, r.output
    assert "junheng-test-ca.crt" in r.output and (out / "junheng-test-ca.crt").exists()
    unlock = (tmp_path / "codes.csv").read_text(encoding="utf-8-sig").splitlines()[1].split(",")[2]
    pkg = open_package((out / f"{code}.jhsite").read_bytes(), kind="site", site=code,
                       trusted=load_private(key).public_key(), unlock_code=unlock)
    assert "10.1.2.3" in certificate_names(json.loads(pkg.files[NODE_FILE])["tls_cert"].encode())
    r = CliRunner().invoke(cli, ["site", "prepare", "--year", "2022", "-o", str(out), "--key", str(key),
                                 "--site-ip", "10.1.2.3"])
    assert r.exit_code == 2 and "SITE=IP" in r.output
