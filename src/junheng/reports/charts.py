"""Hand-built SVG charts (deterministic bytes, no timestamps or random ids; text in the page's CJK font).

Horizontal bars with optional ±2 SE whiskers and an optional reference line (a standard or a limit).
"""

from __future__ import annotations

from html import escape


def _fmt(v: float, unit: str) -> str:
    return f"{v * 100:.1f}%" if unit == "%" else (f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}")


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
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
           f'class="chart" role="img" font-family="Noto Sans CJK SC, sans-serif">']
    for i, (label, v, se) in enumerate(items):
        y = top + i * row_h
        out.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="11">{escape(label)}</text>')
        if v is None:
            out.append(f'<text x="{left + 4}" y="{y + 14}" font-size="11" fill="#777">—（样本不足或缺失）</text>')
            continue
        w = max(v, 0) * scale
        out.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="#4a78a8"/>')
        if se:
            x0, x1 = left + max(v - 2 * se, 0) * scale, left + (v + 2 * se) * scale
            out.append(f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y + 10}" y2="{y + 10}" stroke="#222" stroke-width="1"/>')
        out.append(f'<text x="{left + w + (2 * (se or 0)) * scale + 4:.1f}" y="{y + 14}" font-size="10">'
                   f'{_fmt(v, unit)}</text>')
    if ref is not None:
        x = left + ref * scale
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{h - 6}" stroke="#c0392b" '
                   f'stroke-dasharray="4 3" stroke-width="1.2"/>')
        out.append(f'<text x="{x:.1f}" y="{top - 6}" text-anchor="middle" font-size="10" fill="#c0392b">'
                   f'{escape(ref_label)}</text>')
    out.append("</svg>")
    return "".join(out)


def stacked(items: list[tuple[str, list[float | None]]], labels: list[str], *, width: int = 480) -> str:
    """100 % stacked bars (e.g. the four performance levels), one row per item."""
    colours = ["#c9d9ea", "#8fb1d3", "#4a78a8", "#1f3f66"]
    row_h, left, right, top = 20, 110, 10, 22
    h = top + row_h * len(items) + 6
    span = width - left - right
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
           f'class="chart" role="img" font-family="Noto Sans CJK SC, sans-serif">']
    for j, lab in enumerate(labels):
        x = left + j * span / len(labels)
        out.append(f'<rect x="{x:.1f}" y="4" width="10" height="10" fill="{colours[j % 4]}"/>'
                   f'<text x="{x + 14:.1f}" y="13" font-size="10">{escape(lab)}</text>')
    for i, (label, parts) in enumerate(items):
        y = top + i * row_h
        out.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="11">{escape(label)}</text>')
        if any(p is None for p in parts):
            out.append(f'<text x="{left + 4}" y="{y + 14}" font-size="11" fill="#777">—（样本不足）</text>')
            continue
        x = float(left)
        for j, p in enumerate(parts):
            w = p * span
            out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colours[j % 4]}"/>')
            if p >= 0.08:
                fill = "#fff" if j >= 2 else "#000"
                out.append(f'<text x="{x + w / 2:.1f}" y="{y + 14}" text-anchor="middle" font-size="9" '
                           f'fill="{fill}">{p * 100:.0f}%</text>')
            x += w
    out.append("</svg>")
    return "".join(out)
