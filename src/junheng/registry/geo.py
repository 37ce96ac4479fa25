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
MAX_NAME = 100  # characters of a county's name kept
# a generous box around Henan (lon 110.36–116.65, lat 31.38–36.37), in degrees
BOUNDS = (108.0, 30.0, 119.0, 38.0)


def centroids() -> pl.DataFrame:
    """``code, name, parent_code, lon, lat`` of Henan's 157 county-level units."""
    return read_package_table("junheng.registry.data", "county_centroids_henan.csv").with_columns(
        pl.col("code").cast(pl.String), pl.col("parent_code").cast(pl.String),
        pl.col("lon").cast(pl.Float64), pl.col("lat").cast(pl.Float64))


def _number(v) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise TypeError(v)
    return float(v)


def _coordinates(geometry: dict) -> tuple[list, list[tuple[float, float]]]:
    """A Polygon's or MultiPolygon's coordinates rebuilt as lists of ``[lon, lat]`` floats (an
    altitude or anything else after them dropped) and the flat list of its points; raises
    ``ValueError`` / ``TypeError`` / ``IndexError`` when it is no such geometry of numbers."""
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind not in ("Polygon", "MultiPolygon") or not isinstance(coords, list):
        raise ValueError(kind)
    points: list[tuple[float, float]] = []

    def polygon(rings) -> list:
        if not isinstance(rings, list):
            raise TypeError(rings)
        out = []
        for ring in rings:
            if not isinstance(ring, list):
                raise TypeError(ring)
            pts = []
            for pt in ring:
                if not isinstance(pt, list):
                    raise TypeError(pt)
                x, y = _number(pt[0]), _number(pt[1])
                pts.append([x, y])
                points.append((x, y))
            out.append(pts)
        return out

    return (polygon(coords) if kind == "Polygon" else [polygon(p) for p in coords]), points


def validate_boundaries(data: bytes, codes: set[str], file: str = "boundaries.geojson") -> dict:
    """The boundary file ``data`` checked and reduced to what the map needs: a GeoJSON
    FeatureCollection of Polygon/MultiPolygon features, each with ``properties.code`` one of
    ``codes`` (the counties), at most once, lon/lat inside :data:`BOUNDS`, at most
    :data:`MAX_BOUNDARY_BYTES`, :data:`MAX_FEATURES` features and :data:`MAX_POINTS` points.
    Every problem is reported (``InputError``) — also a feature, properties or geometry that is
    no object, a point that is not two numbers, nesting deeper than the JSON decoder's limit —
    never another exception; returns ``{"type": "FeatureCollection", "features": [...]}`` with
    only ``code`` and ``name`` (at most :data:`MAX_NAME` characters) in the properties and the
    coordinates rebuilt as ``[lon, lat]`` floats (nothing else of the file is kept)."""
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
    except RecursionError:  # arrays or objects nested deeper than the decoder's limit (about 1000)
        issues.add(Issue("GeoJSON 嵌套层数过深", "GeoJSON nested too deep", file=file))
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
        f = f if isinstance(f, dict) else {}
        props = f.get("properties") if isinstance(f.get("properties"), dict) else {}
        code = props.get("code") or props.get("adcode") or ""
        code = str(code) if isinstance(code, str | int) and not isinstance(code, bool) else ""
        if code not in codes:
            issues.add(Issue("properties.code 不是本省县级单位代码", "properties.code is not a county code",
                             file=file, row=k, column="properties.code", value=code))
        elif code in seen:
            issues.add(Issue("同一县出现两次", "county appears twice", file=file, row=k, column="properties.code",
                             value=code))
        seen.add(code)
        geometry = f.get("geometry") if isinstance(f.get("geometry"), dict) else {}
        try:
            coordinates, pts = _coordinates(geometry)
        except (ValueError, TypeError, IndexError):
            issues.add(Issue("几何须为 Polygon 或 MultiPolygon（经度, 纬度）", "geometry must be a Polygon or "
                             "MultiPolygon of (lon, lat)", file=file, row=k, column="geometry",
                             value=str(geometry.get("type"))[:40]))
            continue
        points += len(pts)
        bad = sum(1 for x, y in pts if not (math.isfinite(x) and math.isfinite(y) and lo_x <= x <= hi_x
                                            and lo_y <= y <= hi_y))
        if bad:
            issues.add(Issue(f"{bad} 个坐标点超出河南经纬度范围", f"{bad} points outside Henan's lon/lat box",
                             file=file, row=k, column="geometry", value=code))
        name = props.get("name")
        out.append({"type": "Feature",
                    "properties": {"code": code, "name": (name if isinstance(name, str) and name else code)[:MAX_NAME]},
                    "geometry": {"type": geometry["type"], "coordinates": coordinates}})
    if points > MAX_POINTS:
        issues.add(Issue(f"坐标点超过 {MAX_POINTS} 个，请先简化", f"more than {MAX_POINTS} points; simplify first",
                         file=file, value=points))
    issues.raise_if_errors("边界文件未保存 / boundary file not stored")
    return {"type": "FeatureCollection", "features": out}
