"""Hand-built charts (deterministic bytes, no timestamps or random ids; text in the page's CJK font).

Horizontal bars with optional ±2 SE whiskers and an optional reference line (a standard or a limit),
and 100 % stacked bars.  A chart is a ``<div class="chart">`` holding an SVG with the shapes only and
absolutely positioned ``<span>`` labels over it.  The labels are HTML, not SVG ``<text>``, because
WeasyPrint lays out and draws SVG text one character at a time: HTML labels cut a county PDF's
rendering time by about an eighth.  Every label has an explicit width (no shrink-to-fit measuring).
Browsers show the same picture.
"""

from __future__ import annotations

from html import escape

_ASCENT = 0.88  # Noto Sans CJK ascent / em: a label's top = its baseline − 0.88 × font size


def _fmt(v: float, unit: str) -> str:
    return f"{v * 100:.1f}%" if unit == "%" else (f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}")


class _Chart:
    """Shapes (SVG) and labels (spans) in one coordinate system, in CSS px."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.shapes: list[str] = []
        self.labels: list[str] = []

    def text(self, x: float, baseline: float, text: str, *, size: int, anchor: str = "start",
             fill: str | None = None, box: float = 80.0) -> None:
        """A label with its baseline at ``baseline``; ``anchor`` (start, end, middle) at ``x`` as SVG's
        text-anchor; ``box`` is the width of a middle-anchored label."""
        if anchor == "end":
            left, w, align = 0.0, x, "right"
        elif anchor == "middle":
            left, w, align = x - box / 2, box, "center"
        else:
            left, w, align = x, self.width - x, "left"
        colour = f";color:{fill}" if fill else ""
        self.labels.append(f'<span style="left:{left:.1f}px;top:{baseline - _ASCENT * size:.1f}px;width:{w:.1f}px;'
                           f'text-align:{align};font-size:{size}px{colour}">{escape(text)}</span>')

    def html(self) -> str:
        w, h = self.width, self.height
        return (f'<div class="chart" role="img" style="width:{w}px;height:{h}px">'
                f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
                + "".join(self.shapes) + "</svg>" + "".join(self.labels) + "</div>")


def bars(items: list[tuple[str, float | None, float | None]], *, unit: str = "", ref: float | None = None,
         ref_label: str = "", vmax: float | None = None, width: int = 480) -> str:
    """``items``: (label, value, se); a None value is drawn as "—" (suppressed or missing).  The label
    column widens for long labels (11 px a character, up to 240 px)."""
    left = max(110, min(240, 11 * max((len(lab) for lab, _, _ in items), default=0) + 10))
    row_h, right, top = 20, 60, 8 + (14 if ref is not None else 0)
    h = top + row_h * len(items) + 8
    values = [v + 2 * (s or 0) for _, v, s in items if v is not None]
    hi = vmax or max([*values, ref or 0, 1e-9]) * 1.08
    scale = (width - left - right) / hi
    c = _Chart(width, h)
    for i, (label, v, se) in enumerate(items):
        y = top + i * row_h
        c.text(left - 6, y + 14, label, size=11, anchor="end")
        if v is None:
            c.text(left + 4, y + 14, "—（样本不足或缺失）", size=11, fill="#777")
            continue
        w = max(v, 0) * scale
        c.shapes.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="#4a78a8"/>')
        if se:
            x0, x1 = left + max(v - 2 * se, 0) * scale, left + (v + 2 * se) * scale
            c.shapes.append(f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y + 10}" y2="{y + 10}" stroke="#222" '
                            f'stroke-width="1"/>')
        c.text(left + w + (2 * (se or 0)) * scale + 4, y + 14, _fmt(v, unit), size=10)
    if ref is not None:
        x = left + ref * scale
        c.shapes.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{h - 6}" stroke="#c0392b" '
                        f'stroke-dasharray="4 3" stroke-width="1.2"/>')
        c.text(x, top - 6, ref_label, size=10, anchor="middle", fill="#c0392b", box=120)
    return c.html()


def stacked(items: list[tuple[str, list[float | None]]], labels: list[str], *, width: int = 480) -> str:
    """100 % stacked bars (e.g. the four performance levels), one row per item."""
    colours = ["#c9d9ea", "#8fb1d3", "#4a78a8", "#1f3f66"]
    row_h, left, right, top = 20, 110, 10, 22
    h = top + row_h * len(items) + 6
    span = width - left - right
    c = _Chart(width, h)
    for j, lab in enumerate(labels):
        x = left + j * span / len(labels)
        c.shapes.append(f'<rect x="{x:.1f}" y="4" width="10" height="10" fill="{colours[j % 4]}"/>')
        c.text(x + 14, 13, lab, size=10)
    for i, (label, parts) in enumerate(items):
        y = top + i * row_h
        c.text(left - 6, y + 14, label, size=11, anchor="end")
        if any(p is None for p in parts):
            c.text(left + 4, y + 14, "—（样本不足）", size=11, fill="#777")
            continue
        x = float(left)
        for j, p in enumerate(parts):
            w = p * span
            c.shapes.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                            f'fill="{colours[j % 4]}"/>')
            if p >= 0.08:
                c.text(x + w / 2, y + 14, f"{p * 100:.0f}%", size=9, anchor="middle",
                       fill="#fff" if j >= 2 else None, box=max(w, 24))
            x += w
    return c.html()
