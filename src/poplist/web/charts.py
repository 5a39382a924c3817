"""Charts as inline SVG drawn from data on the server: no JavaScript library, readable without CSS."""

from __future__ import annotations

from datetime import date

from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 560, 180
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 12, 24


def _scale(top: int) -> int:
    """A round upper bound for the y axis (1, 2, 5 × 10^n)."""
    if top <= 4:
        return 4
    magnitude = 10 ** (len(str(top)) - 1)
    for step in (1, 2, 5, 10):
        if top <= step * magnitude:
            return step * magnitude
    return top


def _short(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:g}M"
    if n >= 1_000:
        return f"{n / 1_000:g}k"
    return str(n)


def _frame(points: list[tuple[date, int]], title: str, top: int) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        y = TOP + plot_h * i / 4
        value = top * (4 - i) // 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_short(value)}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    if points:
        n = len(points)
        for index in sorted({0, n // 2, n - 1}):
            x = LEFT + (WIDTH - LEFT - RIGHT) * (index + 0.5) / n
            label = date_format(points[index][0], "M j")
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="middle">{escape(label)}</text>')
    return parts


def _description(points: list[tuple[date, int]], title: str) -> str:
    if not points:
        return ""
    first, last = points[0], points[-1]
    return f"<desc>{escape(title)}: {first[1]} ({first[0].isoformat()}) → {last[1]} ({last[0].isoformat()})</desc>"


def line_chart(points: list[tuple[date, int]], title: str) -> SafeString:
    values = [v for _d, v in points]
    low = min(values, default=0)
    top = _scale(max(values, default=0))
    # A line that changes by 3 on 1,000,000 is flat at zero-based scale: start the axis near the data.
    base = 0 if low < top * 0.5 else _scale(low) // 2
    base = min(base, low)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(points, title, top)
    if base:
        parts = [p.replace(f">{_short(0)}</text>", f">{_short(base)}</text>") for p in parts]
    parts.append(_description(points, title))
    if points:
        span = max(top - base, 1)
        n = len(points)
        coords = [
            (LEFT + plot_w * (i + 0.5) / n, TOP + plot_h * (1 - (value - base) / span))
            for i, (_day, value) in enumerate(points)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        bottom = TOP + plot_h
        parts.append(
            f'<polygon class="area" points="{coords[0][0]:.1f},{bottom} {path} {coords[-1][0]:.1f},{bottom}"/>'
        )
        parts.append(f'<polyline class="line" points="{path}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bar_chart(points: list[tuple[date, int]], title: str, css: str = "bar") -> SafeString:
    top = _scale(max((v for _d, v in points), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(points, title, top)
    parts.append(_description(points, title))
    n = max(len(points), 1)
    width = plot_w / n
    for i, (day, value) in enumerate(points):
        if not value:
            continue
        h = plot_h * value / top
        x = LEFT + width * i + width * 0.15
        parts.append(
            f'<rect class="{css}" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{width * 0.7:.1f}" height="{h:.1f}">'
            f"<title>{day.isoformat()}: {value}</title></rect>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
