"""The cumulative-points chart as SVG, drawn by hand from the progression (no JavaScript,
no plotting library): one line per competitor, race by race, the leaders labelled."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from ledger.values import format_points
from projections.progression import Progression

WIDTH, HEIGHT = 720, 360
LEFT, RIGHT, TOP, BOTTOM = 44, 150, 16, 56
COLOURS = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
)  # fmt: skip


def chart_svg(chart: Progression, top: int = 10) -> str:
    """The chart of the ``top`` ranked competitors' running totals."""
    series = [s for s in chart.series if s.rank <= top][:top]
    ticks = chart.races
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    highest = max((max(s.cumulative, default=Decimal(0)) for s in series), default=Decimal(0))
    ceiling = float(highest) or 1.0
    step = inner_w / max(len(ticks) - 1, 1)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(points: Decimal) -> float:
        return TOP + inner_h - float(points) / ceiling * inner_h

    title = f"{chart.cup_name}, {chart.season_name}: cumulative points"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' role="img" aria-labelledby="chart-title" font-family="sans-serif" font-size="11">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<rect x="{LEFT}" y="{TOP}" width="{inner_w}" height="{inner_h}" fill="#fafafa"'
        ' stroke="#ccc"/>',
    ]
    for k in range(5):
        value = Decimal(ceiling) * k / 4
        gy = y(value)
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + inner_w}" y1="{gy:.1f}" y2="{gy:.1f}"'
            ' stroke="#e5e5e5"/>'
            f'<text x="{LEFT - 4}" y="{gy + 4:.1f}" text-anchor="end">{round(value)}</text>'
        )
    for i, tick in enumerate(ticks):
        tx = x(i)
        out.append(
            f'<text transform="translate({tx:.1f},{TOP + inner_h + 10}) rotate(45)"'
            f' font-size="9">{escape(tick.race)}</text>'
        )
    for n, s in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(f"{x(i):.1f},{y(p):.1f}" for i, p in enumerate(s.cumulative))
        label = f"{s.rank}. {s.competitor} ({format_points(s.points)})"
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
            f"<title>{escape(label)}</title></polyline>"
        )
        ly = TOP + 12 + n * 15
        out.append(
            f'<rect x="{LEFT + inner_w + 8}" y="{ly - 8}" width="10" height="3" fill="{colour}"/>'
            f'<text x="{LEFT + inner_w + 22}" y="{ly}">{escape(label)}</text>'
        )
    if not series:
        out.append(
            f'<text x="{LEFT + inner_w / 2}" y="{TOP + inner_h / 2}" text-anchor="middle">'
            "no points scored yet</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
