"""The county maps of the 优质均衡 and result pages: the dots of ``junheng.registry.geo.centroids``
(shipped), and the boundary file an operator may upload for a true choropleth (none is shipped: a
published map in China needs an approved base map, 审图号).  The file is checked by
``junheng.registry.geo.validate_boundaries`` (size, FeatureCollection, county codes, lon/lat) and
stored, reduced, as ``$JUNHENG_HOME/maps/counties.geojson``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from django.conf import settings

from junheng.registry import centroids, validate_boundaries
from junheng_web.registry.models import Region


def boundaries_path() -> Path:
    return Path(settings.JUNHENG_HOME) / "maps" / "counties.geojson"


def store_boundaries(data: bytes, name: str) -> int:
    """Validate and store an uploaded boundary file (all-or-nothing, atomic); returns the number
    of counties drawn.  Raises ``InputError`` listing every problem."""
    codes = set(Region.objects.filter(level=Region.Level.COUNTY).values_list("code", flat=True))
    doc = validate_boundaries(data, codes, file=name)
    path = boundaries_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"))
    os.replace(tmp, path)
    return len(doc["features"])


def map_points(rows: list[dict], codes: set[str] | None = None) -> list[dict]:
    """``rows`` (dicts with ``code``) joined to the county points: ``lon`` and ``lat`` added; rows
    of a county without a point (a development zone) are left out of the map."""
    pts = {c: (lon, lat) for c, lon, lat in centroids().select("code", "lon", "lat").iter_rows()}
    out = []
    for r in rows:
        p = pts.get(r["code"])
        if p is not None and (codes is None or r["code"] in codes):
            out.append({**r, "lon": p[0], "lat": p[1]})
    return out
