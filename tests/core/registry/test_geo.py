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


def _collection(*features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


@pytest.mark.parametrize("data", [
    b"[" * 200_000 + b"]" * 200_000,  # nested past the JSON decoder's recursion limit (was a RecursionError)
    b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "410102"}, '
    b'"geometry": {"type": "Polygon", "coordinates": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}]}",
])
def test_a_file_nested_too_deep_is_refused_with_a_message(data):
    with pytest.raises(InputError) as e:
        validate_boundaries(data, {"410102"}, file="deep.geojson")
    assert e.value.issues and all(i.file == "deep.geojson" for i in e.value.issues)


def test_features_properties_geometries_and_points_of_the_wrong_kind_are_issues_not_crashes():
    """A feature, properties or geometry that is no object, a point that is an object, a string or
    has one number: each an issue on its feature (these raised AttributeError / KeyError)."""
    square = _square("410102")
    point_obj = _square("410103")
    point_obj["geometry"]["coordinates"][0][1] = {"lon": 113.6}
    text_pts = _square("410104")
    text_pts["geometry"]["coordinates"] = [[[str(x), str(y)] for x, y in text_pts["geometry"]["coordinates"][0]]]
    short = _square("410105")
    short["geometry"]["coordinates"][0][2] = [113.6]
    data = _collection(square, "a feature", {"type": "Feature", "properties": ["410106"], "geometry": None},
                       {"type": "Feature", "properties": {"code": "410107"}, "geometry": [1, 2]},
                       point_obj, text_pts, short)
    codes = {"410102", "410103", "410104", "410105", "410106", "410107"}
    with pytest.raises(InputError) as e:
        validate_boundaries(data, codes)
    rows = sorted((i.row, i.column) for i in e.value.issues)
    assert rows == [(2, "geometry"), (2, "properties.code"), (3, "geometry"), (3, "properties.code"),
                    (4, "geometry"), (5, "geometry"), (6, "geometry"), (7, "geometry")]


def test_the_stored_file_keeps_only_lon_lat_numbers_and_a_short_name():
    sq = _square("410102")
    sq["geometry"]["coordinates"][0][1] = [113.6, 34.7, 120.0, {"junk": "x" * 50}]  # an altitude and more
    sq["properties"]["name"] = "中原区" * 100
    multi = {"type": "Feature", "properties": {"adcode": 410103},
             "geometry": {"type": "MultiPolygon", "coordinates": [_square("x")["geometry"]["coordinates"]]}}
    out = validate_boundaries(_collection(sq, multi), {"410102", "410103"})
    ring = out["features"][0]["geometry"]["coordinates"][0]
    assert ring[1] == [113.6, 34.7] and all(len(p) == 2 and all(type(v) is float for v in p) for p in ring)
    assert len(out["features"][0]["properties"]["name"]) <= 100
    assert out["features"][1]["properties"]["code"] == "410103"
    assert out["features"][1]["geometry"]["coordinates"] == [[[[float(v) for v in p] for p in ring]
                                                             for ring in _square("x")["geometry"]["coordinates"]]]
