"""Typeset a report's context as PDF with Typst (the ``typst`` package: the Typst compiler in-process).

The templates (``templates/{annual,county,school}.typ`` over ``templates/report.typ``) read the
document's context as JSON from ``sys.inputs.data``: nothing is escaped or pasted into markup, and
the PDF shows the very values the HTML shows.  Charts are the context's chart specs
(:mod:`junheng.reports.charts`) drawn natively, so their labels are text in the PDF.

Why Typst and not WeasyPrint (docs/guide/reports.md): a county report took about 1.0 s of CPU in
WeasyPrint 70 (layout, style cascade, drawing, font subsetting) and takes about 0.1 s in Typst; the
annual report and 157 county reports must be written within a minute on two cores.

``check=True`` (tests) makes every table cell report its natural width and the width it was given
(``<cellfit>`` metadata, :func:`cell_fits`), so a test can prove that no cell overflows.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import resources
from pathlib import Path

SKIP = {"chart", "levels_chart", "cv_chart", "css"}  # the HTML's SVG strings: the PDF draws the specs


def _plain(v):
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items() if k not in SKIP}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return str(v)


def data(ctx: dict) -> str:
    """A document's context as the JSON its Typst template reads (keys sorted: same context, same bytes)."""
    return json.dumps(_plain(ctx), ensure_ascii=False, sort_keys=True, allow_nan=False)


def _templates() -> Path:
    return Path(str(resources.files("junheng.reports") / "templates"))


@functools.cache
def _source_digest() -> str:
    """The Typst templates and the compiler's version: part of every PDF's digest."""
    import typst

    h = hashlib.sha256(f"typst-py {getattr(typst, '__version__', '?')}\n".encode())
    for p in sorted(_templates().glob("*.typ")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def digest(data_json: str) -> str:
    """What a PDF depends on: its data, the templates and the compiler (see ``write_reports(reuse=)``)."""
    return hashlib.sha256(f"{_source_digest()}\n{data_json}".encode()).hexdigest()


@functools.cache
def _compiler():
    """One compiler per process: it scans the system fonts once and keeps its caches between documents."""
    import typst

    return typst.Compiler(root=str(_templates()))


def _kind(data_json: str) -> str:
    kind = json.loads(data_json)["kind"]
    if kind not in ("annual", "county", "school"):
        raise ValueError(f"unknown report kind: {kind}")
    return kind


def pdf(data_json: str, *, check: bool = False) -> bytes:
    """The PDF of one document (its :func:`data`)."""
    inputs = {"data": data_json, "check": "1" if check else ""}
    return _compiler().compile(input=str(_templates() / f"{_kind(data_json)}.typ"), format="pdf",
                               sys_inputs=inputs)


def cell_fits(data_json: str) -> list[dict]:
    """Every table cell of the document, typeset in check mode: ``text``, ``kind`` (``num``: must
    fit on one line; ``head``: its lines, kept whole, must fit; ``text``: may wrap), ``nat`` (natural
    width, pt) and ``have`` (the column's width, pt)."""
    import typst

    c = typst.Compiler(input=str(_templates() / f"{_kind(data_json)}.typ"), root=str(_templates()),
                       sys_inputs={"data": data_json, "check": "1"})
    return json.loads(c.query("<cellfit>", field="value", format="json"))
