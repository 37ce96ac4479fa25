"""County points and the check of an operator's boundary file."""

from __future__ import annotations

import json

import pytest

from junheng.exceptions import InputError
from junheng.registry import centroids, divisions, validate_boundaries


def test_every_county_unit_of_henan_has_a_point_inside_the_province():
    c = centroids()
    counties = set(divisions().filter(divisions()["level"] == "county")["code"])
    assert set(c["code"]) == counties and c.height == 157
    assert c["lon"].min() > 110.3 and c["lon"].max() < 116.7 and c["lat"].min() > 31.3 and c["lat"].max() < 36.4
    zhengzhou = c.filter(c["code"] == "410102").row(0, named=True)  # 中原区, west Zhengzhou
    assert 113.4 < zhengzhou["lon"] < 113.7 and 34.6 < zhengzhou["lat"] < 34.9


def _square(code, x=113.5, y=34.7, d=0.1):
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    return {"type": "Feature", "properties": {"code": code, "name": code, "extra": "dropped"},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_a_good_file_is_kept_with_only_code_and_name():
    doc = {"type": "FeatureCollection", "features": [_square("410102"), _square("410103", x=113.6)]}
    out = validate_boundaries(json.dumps(doc).encode(), {"410102", "410103"})
    assert [f["properties"] for f in out["features"]] == [{"code": "410102", "name": "410102"},
                                                         {"code": "410103", "name": "410103"}]


def test_every_problem_of_a_bad_file_is_reported_together():
    doc = {"type": "FeatureCollection", "features": [
        _square("999999"), _square("410102", x=2.0, y=48.0), _square("410103"), _square("410103"),
        {"type": "Feature", "properties": {"code": "410104"}, "geometry": {"type": "Point", "coordinates": [113, 34]}}]}
    with pytest.raises(InputError) as e:
        validate_boundaries(json.dumps(doc).encode(), {"410102", "410103", "410104"}, file="b.geojson")
    rows = sorted((i.row, i.column) for i in e.value.issues)
    assert rows == [(1, "properties.code"), (2, "geometry"), (4, "properties.code"), (5, "geometry")]
    assert all(i.file == "b.geojson" for i in e.value.issues)


@pytest.mark.parametrize("data", [b"not json", b'{"type": "Feature"}', b"{" + b" " * (9 * 1024 * 1024) + b"}"])
def test_an_unreadable_or_oversized_file_is_refused(data):
    with pytest.raises(InputError):
        validate_boundaries(data, {"410102"})
