"""County points for the tile-free map layout, and the check of an operator's boundary file.

:func:`centroids` gives one point per Henan county-level unit (``data/county_centroids_henan.csv``,
source in ``data/SOURCES.md``): the web draws the counties as dots at these points, which is no
map (no boundary, no base map).  A true choropleth needs a boundary file the operator supplies —
a published map in China needs an approved base map (审图号), so none is shipped;
:func:`validate_boundaries` decides whether such a file may be stored.
"""

from __future__ import annotations

import json
import math

import polars as pl

from junheng.exceptions import Issue, Issues
from junheng.io import read_package_table

MAX_BOUNDARY_BYTES = 8 * 1024 * 1024
MAX_FEATURES = 400
MAX_POINTS = 400_000
# a generous box around Henan (lon 110.36–116.65, lat 31.38–36.37), in degrees
BOUNDS = (108.0, 30.0, 119.0, 38.0)


def centroids() -> pl.DataFrame:
    """``code, name, parent_code, lon, lat`` of Henan's 157 county-level units."""
    return read_package_table("junheng.registry.data", "county_centroids_henan.csv").with_columns(
        pl.col("code").cast(pl.String), pl.col("parent_code").cast(pl.String),
        pl.col("lon").cast(pl.Float64), pl.col("lat").cast(pl.Float64))


def _rings(geometry: dict):
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon":
        yield from coords or []
    elif kind == "MultiPolygon":
        for poly in coords or []:
            yield from poly or []
    else:
        raise ValueError(kind)


def validate_boundaries(data: bytes, codes: set[str], file: str = "boundaries.geojson") -> dict:
    """The boundary file ``data`` checked and reduced to what the map needs: a GeoJSON
    FeatureCollection of Polygon/MultiPolygon features, each with ``properties.code`` one of
    ``codes`` (the counties), at most once, lon/lat inside :data:`BOUNDS`, at most
    :data:`MAX_BOUNDARY_BYTES`, :data:`MAX_FEATURES` features and :data:`MAX_POINTS` points.
    Every problem is reported (``InputError``); returns ``{"type": "FeatureCollection",
    "features": [...]}`` with only ``code`` and ``name`` kept in the properties."""
    issues = Issues()
    if len(data) > MAX_BOUNDARY_BYTES:
        issues.add(Issue(f"文件超过 {MAX_BOUNDARY_BYTES // 1024 // 1024} MB", f"file larger than "
                         f"{MAX_BOUNDARY_BYTES // 1024 // 1024} MB", file=file, value=len(data)))
        issues.raise_if_errors("边界文件未保存 / boundary file not stored")
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as e:
        issues.add(Issue("不是 UTF-8 编码的 GeoJSON", "not UTF-8 GeoJSON", file=file, value=str(e)[:80]))
        issues.raise_if_errors("边界文件未保存 / boundary file not stored")
    feats = doc.get("features") if isinstance(doc, dict) and doc.get("type") == "FeatureCollection" else None
    if not isinstance(feats, list) or not feats or len(feats) > MAX_FEATURES:
        issues.add(Issue(f"须为含 1–{MAX_FEATURES} 个要素的 FeatureCollection",
                         f"must be a FeatureCollection of 1–{MAX_FEATURES} features", file=file,
                         column="features", value=len(feats) if isinstance(feats, list) else None))
        issues.raise_if_errors("边界文件未保存 / boundary file not stored")
    seen: set[str] = set()
    points = 0
    out = []
    lo_x, lo_y, hi_x, hi_y = BOUNDS
    for k, f in enumerate(feats, start=1):
        props = (f or {}).get("properties") or {}
        code = str(props.get("code") or props.get("adcode") or "")
        if code not in codes:
            issues.add(Issue("properties.code 不是本省县级单位代码", "properties.code is not a county code",
                             file=file, row=k, column="properties.code", value=code))
        elif code in seen:
            issues.add(Issue("同一县出现两次", "county appears twice", file=file, row=k, column="properties.code",
                             value=code))
        seen.add(code)
        geometry = (f or {}).get("geometry") or {}
        try:
            bad = 0
            for ring in _rings(geometry):
                for pt in ring:
                    points += 1
                    x, y = float(pt[0]), float(pt[1])
                    if not (math.isfinite(x) and math.isfinite(y) and lo_x <= x <= hi_x and lo_y <= y <= hi_y):
                        bad += 1
            if bad:
                issues.add(Issue(f"{bad} 个坐标点超出河南经纬度范围", f"{bad} points outside Henan's lon/lat box",
                                 file=file, row=k, column="geometry", value=code))
        except (ValueError, TypeError, IndexError):
            issues.add(Issue("几何须为 Polygon 或 MultiPolygon（经度, 纬度）", "geometry must be a Polygon or "
                             "MultiPolygon of (lon, lat)", file=file, row=k, column="geometry",
                             value=str(geometry.get("type"))))
            continue
        out.append({"type": "Feature", "properties": {"code": code, "name": str(props.get("name") or code)},
                    "geometry": {"type": geometry["type"], "coordinates": geometry["coordinates"]}})
    if points > MAX_POINTS:
        issues.add(Issue(f"坐标点超过 {MAX_POINTS} 个，请先简化", f"more than {MAX_POINTS} points; simplify first",
                         file=file, value=points))
    issues.raise_if_errors("边界文件未保存 / boundary file not stored")
    return {"type": "FeatureCollection", "features": out}
