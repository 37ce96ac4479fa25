"""The bank's pictures, drawn here as SVG and carried in the item as ``data:image/svg+xml`` URIs
(an item and its pictures travel together: into the database, a site package, a kept offline page).
Text in the pictures is in the fonts the browser has (Noto CJK on Debian)."""

from __future__ import annotations

import base64
import math

FONT = "font-family=\"'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei',sans-serif\""


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _svg(width: int, height: int, body: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" {FONT} font-size="15">'
            f'<rect width="{width}" height="{height}" fill="#fff"/>{body}</svg>')


def bar_chart(title: str, labels: list[str], values: list[int], unit: str, step: int) -> str:
    """A vertical bar chart with a value axis in ``step``s (the values are read off the bars)."""
    w, h, left, bottom, top = 420, 260, 50, 220, 40
    top_value = step * math.ceil(max(values) / step)
    scale = (bottom - top) / top_value
    bar_w = (w - left - 20) / len(values)
    parts = [f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="16">{title}</text>',
             f'<line x1="{left}" y1="{bottom}" x2="{w - 10}" y2="{bottom}" stroke="#333"/>',
             f'<line x1="{left}" y1="{bottom}" x2="{left}" y2="{top - 10}" stroke="#333"/>',
             f'<text x="{left - 6}" y="{top - 16}" text-anchor="end" font-size="12">{unit}</text>']
    for v in range(0, top_value + 1, step):
        y = bottom - v * scale
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - 10}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y + 5:.1f}" text-anchor="end" font-size="12">{v}</text>')
    for k, (label, v) in enumerate(zip(labels, values)):
        x = left + k * bar_w + bar_w * 0.2
        parts.append(f'<rect x="{x:.1f}" y="{bottom - v * scale:.1f}" width="{bar_w * 0.6:.1f}" '
                     f'height="{v * scale:.1f}" fill="#5b8bd0"/>'
                     f'<text x="{x + bar_w * 0.3:.1f}" y="{bottom + 18}" text-anchor="middle">{label}</text>')
    return data_uri(_svg(w, h, "".join(parts)))


def square_with_circle(side_cm: int) -> str:
    """A square with the largest circle inside it (the shaded corners are asked for)."""
    s, x0, y0 = 180, 60, 30
    body = (f'<rect x="{x0}" y="{y0}" width="{s}" height="{s}" fill="#c9d9f0" stroke="#333" stroke-width="2"/>'
            f'<circle cx="{x0 + s / 2}" cy="{y0 + s / 2}" r="{s / 2}" fill="#fff" stroke="#333" stroke-width="2"/>'
            f'<line x1="{x0}" y1="{y0 + s + 14}" x2="{x0 + s}" y2="{y0 + s + 14}" stroke="#333"/>'
            f'<text x="{x0 + s / 2}" y="{y0 + s + 32}" text-anchor="middle">{side_cm} 厘米</text>')
    return data_uri(_svg(300, 260, body))


def trapezoid(top_cm: int, bottom_cm: int, height_cm: int) -> str:
    """A right trapezoid with its two bases and its height marked."""
    x0, y0, k = 40, 40, 16
    t, b, h = top_cm * k, bottom_cm * k, height_cm * k
    body = (f'<polygon points="{x0},{y0} {x0 + t},{y0} {x0 + b},{y0 + h} {x0},{y0 + h}" fill="#f4e3b5" '
            f'stroke="#333" stroke-width="2"/>'
            f'<text x="{x0 + t / 2}" y="{y0 - 8}" text-anchor="middle">{top_cm} 米</text>'
            f'<text x="{x0 + b / 2}" y="{y0 + h + 20}" text-anchor="middle">{bottom_cm} 米</text>'
            f'<text x="{x0 - 8}" y="{y0 + h / 2}" text-anchor="end">{height_cm} 米</text>'
            f'<rect x="{x0}" y="{y0 + h - 10}" width="10" height="10" fill="none" stroke="#333"/>')
    return data_uri(_svg(x0 + b + 40, y0 + h + 40, body))


def clock(hour: int, minute: int) -> str:
    """A clock face showing ``hour:minute``."""
    cx, cy, r = 110, 110, 90
    marks = "".join(f'<text x="{cx + 0.78 * r * math.sin(math.radians(30 * n)):.1f}" '
                    f'y="{cy - 0.78 * r * math.cos(math.radians(30 * n)) + 6:.1f}" text-anchor="middle" '
                    f'font-size="16">{n}</text>' for n in range(1, 13))
    ha, ma = math.radians(30 * (hour % 12) + minute / 2), math.radians(6 * minute)
    hands = (f'<line x1="{cx}" y1="{cy}" x2="{cx + 0.5 * r * math.sin(ha):.1f}" y2="{cy - 0.5 * r * math.cos(ha):.1f}" '
             f'stroke="#222" stroke-width="6" stroke-linecap="round"/>'
             f'<line x1="{cx}" y1="{cy}" x2="{cx + 0.72 * r * math.sin(ma):.1f}" y2="{cy - 0.72 * r * math.cos(ma):.1f}" '
             f'stroke="#222" stroke-width="3" stroke-linecap="round"/>')
    body = (f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="#fffdf3" stroke="#333" stroke-width="4"/>{marks}{hands}'
            f'<circle cx="{cx}" cy="{cy}" r="5" fill="#222"/>')
    return data_uri(_svg(220, 220, body))


def circuit(closed: bool) -> str:
    """A battery, a switch (open or closed) and a bulb in one loop."""
    sw = ('<line x1="250" y1="40" x2="300" y2="40" stroke="#333" stroke-width="3"/>' if closed else
          '<line x1="250" y1="40" x2="292" y2="14" stroke="#333" stroke-width="3"/>')
    body = ('<polyline points="60,40 250,40" fill="none" stroke="#333" stroke-width="3"/>'
            '<polyline points="300,40 360,40 360,200 230,200" fill="none" stroke="#333" stroke-width="3"/>'
            '<polyline points="150,200 60,200 60,40" fill="none" stroke="#333" stroke-width="3"/>'
            '<circle cx="250" cy="40" r="4" fill="#333"/><circle cx="300" cy="40" r="4" fill="#333"/>'
            f'{sw}<text x="275" y="68" text-anchor="middle">开关</text>'
            '<line x1="180" y1="185" x2="180" y2="215" stroke="#333" stroke-width="3"/>'
            '<line x1="195" y1="192" x2="195" y2="208" stroke="#333" stroke-width="6"/>'
            '<line x1="150" y1="200" x2="180" y2="200" stroke="#333" stroke-width="3"/>'
            '<line x1="195" y1="200" x2="230" y2="200" stroke="#333" stroke-width="3"/>'
            '<text x="188" y="238" text-anchor="middle">电池</text>'
            '<circle cx="60" cy="120" r="22" fill="#fff7c2" stroke="#333" stroke-width="3"/>'
            '<path d="M45 105 L75 135 M75 105 L45 135" stroke="#333" stroke-width="2"/>'
            '<text x="100" y="125">小灯泡</text>')
    return data_uri(_svg(420, 250, body))


def lever(effort_arm: int, load_arm: int, load_n: int) -> str:
    """A lever on a fulcrum: the load on the left, the effort on the right, both arms marked."""
    k, x_f, y = 9, 60 + load_arm * 9, 90
    x_l, x_e = x_f - load_arm * k, x_f + effort_arm * k
    body = (f'<line x1="{x_l}" y1="{y}" x2="{x_e}" y2="{y}" stroke="#8a5a2b" stroke-width="8"/>'
            f'<polygon points="{x_f},{y + 4} {x_f - 18},{y + 40} {x_f + 18},{y + 40}" fill="#777"/>'
            f'<rect x="{x_l - 22}" y="{y - 44}" width="44" height="40" fill="#999" stroke="#333"/>'
            f'<text x="{x_l}" y="{y - 18}" text-anchor="middle" fill="#fff">{load_n} 牛</text>'
            f'<line x1="{x_e}" y1="{y - 50}" x2="{x_e}" y2="{y - 8}" stroke="#c0392b" stroke-width="3"/>'
            f'<polygon points="{x_e - 7},{y - 18} {x_e + 7},{y - 18} {x_e},{y - 6}" fill="#c0392b"/>'
            f'<text x="{x_e}" y="{y - 56}" text-anchor="middle">动力</text>'
            f'<text x="{(x_l + x_f) / 2}" y="{y + 62}" text-anchor="middle">{load_arm} 厘米</text>'
            f'<text x="{(x_f + x_e) / 2}" y="{y + 62}" text-anchor="middle">{effort_arm} 厘米</text>'
            f'<text x="{x_f}" y="{y + 80}" text-anchor="middle" font-size="12">支点</text>')
    return data_uri(_svg(x_e + 50, 190, body))
