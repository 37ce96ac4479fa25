"""Charts as data (``*_spec``: what is drawn, in fractions of the plot width) and as hand-built SVG
for the HTML reports (deterministic bytes, no timestamps or random ids; text in the page's CJK font).
The PDF draws the same specs natively in Typst (``templates/report.typ``), so both show one drawing.

Horizontal bars with optional ±2 SE whiskers and an optional reference line (a standard or a limit);
100 % stacked bars (the four performance levels).
"""

from __future__ import annotations

from html import escape

COLOURS = ["#c9d9ea", "#8fb1d3", "#4a78a8", "#1f3f66"]


def _fmt(v: float, unit: str) -> str:
    return f"{v * 100:.1f}%" if unit == "%" else (f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}")


def bar_spec(items: list[tuple[str, float | None, float | None]], *, unit: str = "", ref: float | None = None,
             ref_label: str = "", vmax: float | None = None) -> dict:
    """``items``: (label, value, se); a None value is a row without a bar ("—": suppressed or missing).
    Positions are fractions of the plot width: ``bar`` the bar's end, ``lo``/``hi`` the ±2 SE whisker."""
    values = [v + 2 * (s or 0) for _, v, s in items if v is not None]
    top = vmax or max([*values, ref or 0, 1e-9]) * 1.08
    rows = []
    for label, v, se in items:
        if v is None:
            rows.append({"label": label, "bar": None, "text": "—（样本不足或缺失）"})
            continue
        row = {"label": label, "bar": max(v, 0) / top, "text": _fmt(v, unit), "lo": None, "hi": None}
        if se:
            row["lo"], row["hi"] = max(v - 2 * se, 0) / top, (v + 2 * se) / top
        rows.append(row)
    return {"kind": "bars", "rows": rows, "ref": None if ref is None else ref / top, "ref_label": ref_label}


def bars_svg(spec: dict, *, width: int = 480) -> str:
    """The SVG of a :func:`bar_spec`.  The label column widens for long labels (11 px a character, up to 240 px)."""
    rows = spec["rows"]
    left = max(110, min(240, 11 * max((len(r["label"]) for r in rows), default=0) + 10))
    row_h, right, top = 20, 60, 8 + (14 if spec["ref"] is not None else 0)
    h = top + row_h * len(rows) + 8
    span = width - left - right
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
           f'class="chart" role="img" font-family="Noto Sans CJK SC, sans-serif">']
    for i, r in enumerate(rows):
        y = top + i * row_h
        out.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="11">{escape(r["label"])}</text>')
        if r["bar"] is None:
            out.append(f'<text x="{left + 4}" y="{y + 14}" font-size="11" fill="#777">{r["text"]}</text>')
            continue
        out.append(f'<rect x="{left}" y="{y + 3}" width="{r["bar"] * span:.1f}" height="{row_h - 6}" fill="#4a78a8"/>')
        end = r["bar"]
        if r["hi"] is not None:
            end = r["hi"]
            out.append(f'<line x1="{left + r["lo"] * span:.1f}" x2="{left + r["hi"] * span:.1f}" y1="{y + 10}" '
                       f'y2="{y + 10}" stroke="#222" stroke-width="1"/>')
        out.append(f'<text x="{left + end * span + 4:.1f}" y="{y + 14}" font-size="10">{r["text"]}</text>')
    if spec["ref"] is not None:
        x = left + spec["ref"] * span
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{h - 6}" stroke="#c0392b" '
                   f'stroke-dasharray="4 3" stroke-width="1.2"/>')
        out.append(f'<text x="{x:.1f}" y="{top - 6}" text-anchor="middle" font-size="10" fill="#c0392b">'
                   f'{escape(spec["ref_label"])}</text>')
    out.append("</svg>")
    return "".join(out)


def bars(items: list[tuple[str, float | None, float | None]], **kw) -> str:
    """:func:`bar_spec` drawn as SVG."""
    return bars_svg(bar_spec(items, **kw))


def stacked_spec(items: list[tuple[str, list[float | None]]], labels: list[str]) -> dict:
    """100 % stacked bars, one row per item; a row with a missing part has ``parts`` None."""
    return {"kind": "stacked", "labels": labels, "colours": COLOURS[:len(labels)],
            "rows": [{"label": lab, "parts": None, "texts": None} if any(p is None for p in parts) else
                     {"label": lab, "parts": list(parts), "texts": [f"{p * 100:.0f}%" if p >= 0.08 else "" for p in parts]}
                     for lab, parts in items]}


def stacked_svg(spec: dict, *, width: int = 480) -> str:
    """The SVG of a :func:`stacked_spec`; a part of 8 % or more is labelled with its percentage."""
    row_h, left, right, top = 20, 110, 10, 22
    labels, rows = spec["labels"], spec["rows"]
    h = top + row_h * len(rows) + 6
    span = width - left - right
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
           f'class="chart" role="img" font-family="Noto Sans CJK SC, sans-serif">']
    for j, lab in enumerate(labels):
        x = left + j * span / len(labels)
        out.append(f'<rect x="{x:.1f}" y="4" width="10" height="10" fill="{COLOURS[j % 4]}"/>'
                   f'<text x="{x + 14:.1f}" y="13" font-size="10">{escape(lab)}</text>')
    for i, r in enumerate(rows):
        y = top + i * row_h
        out.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="11">{escape(r["label"])}</text>')
        if r["parts"] is None:
            out.append(f'<text x="{left + 4}" y="{y + 14}" font-size="11" fill="#777">—（样本不足）</text>')
            continue
        x = float(left)
        for j, p in enumerate(r["parts"]):
            w = p * span
            out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{COLOURS[j % 4]}"/>')
            if r["texts"][j]:
                fill = "#fff" if j >= 2 else "#000"
                out.append(f'<text x="{x + w / 2:.1f}" y="{y + 14}" text-anchor="middle" font-size="9" '
                           f'fill="{fill}">{r["texts"][j]}</text>')
            x += w
    out.append("</svg>")
    return "".join(out)


def stacked(items: list[tuple[str, list[float | None]]], labels: list[str], **kw) -> str:
    """:func:`stacked_spec` drawn as SVG."""
    return stacked_svg(stacked_spec(items, labels), **kw)
