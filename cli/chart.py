"""Drawing a cup's season race by race with matplotlib (only ``ledger chart`` imports this).

matplotlib is an optional extra and slow to import, so it is imported only when a chart is
drawn, through the Agg canvas and the object API (no pyplot, no global figure state).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from ledger.errors import InputError, MissingExtraError
from projections.progression import Progression, RaceTick, Series

FORMATS = (".png", ".svg", ".pdf")
COLOURS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
)
BAND = "#f2f2f2"


def check_output(path: Path) -> None:
    """Reject an output name whose format cannot be drawn, before any work is done."""
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"--output {path}: name a .png, .svg or .pdf file")
    if not path.parent.is_dir():
        raise InputError(f"--output {path}: folder {path.parent} does not exist")


def _figure() -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError(
            "charts need matplotlib: pip install 'results-ledger[charts]'"
        ) from None
    figure = Figure(figsize=(12, 6.75), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: Path) -> None:
    import matplotlib

    # Text stays text in SVG (searchable, accessible); metadata without dates keeps the
    # output the same from one run to the next.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "results-ledger"}):
        suffix = path.suffix.lower()
        metadata = {"Software": None} if suffix == ".png" else {"Date": None}
        try:
            figure.savefig(path, metadata=metadata, facecolor="white")
        except OSError as e:
            raise InputError(f"--output {path}: cannot write ({e.strerror})") from None


def _when(chart: Progression) -> str:
    day = chart.as_of
    when = f"as of {day.day} {day:%B %Y}" if day else "all races"
    if chart.known_at is not None:
        when += f", as known at {chart.known_at:%Y-%m-%d %H:%M %Z}".rstrip()
    return when


def _axes(figure: Any, races: Sequence[RaceTick], title: str, subtitle: str) -> Any:
    axes = figure.add_subplot()
    figure.suptitle(title, x=0.01, ha="left", fontsize=15, fontweight="bold")
    axes.set_title(subtitle, loc="left", fontsize=10, color="#555555", pad=18)
    axes.set_xticks(
        range(len(races)),
        [f"{r.race}\n{r.date.day} {r.date:%b}" for r in races],
        fontsize=7.5,
    )
    axes.set_xlim(-0.6, len(races) - 0.4)
    axes.set_ylabel("cumulative points")
    axes.grid(axis="y", color="#dddddd", linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    # One band per meeting (a venue's consecutive races), named at the top.
    start = 0
    for index, (place, group) in enumerate(groupby(races, key=lambda r: r.location)):
        size = len(list(group))
        if index % 2 == 0:
            axes.axvspan(start - 0.5, start + size - 0.5, color=BAND, zorder=0, linewidth=0)
        label = (place or "").split(",")[0]
        axes.text(
            start + (size - 1) / 2,
            1.0,
            label,
            transform=axes.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
            color="#666666",
        )
        start += size
    return axes


def _finish(axes: Any, top: float) -> None:
    axes.set_ylim(0, max(top * 1.06, 1))


def draw_season(chart: Progression, lines: Sequence[Series], path: Path) -> None:
    """Draw the leading competitors' running totals, race by race."""
    figure = _figure()
    subtitle = f"{chart.season_name} · cumulative points race by race · {_when(chart)}"
    axes = _axes(figure, chart.races, chart.cup_name, subtitle)
    xs = range(len(chart.races))
    for colour, series in zip(_colours(len(lines)), lines, strict=True):
        axes.plot(
            xs,
            [float(v) for v in series.cumulative],
            color=colour,
            linewidth=2,
            marker="o",
            markersize=3.5,
            label=f"{series.rank}. {series.label} — {series.points}",
        )
    axes.legend(loc="upper left", fontsize=9, frameon=True, framealpha=0.95, edgecolor="#cccccc")
    _finish(axes, float(max((max(s.cumulative, default=0) for s in lines), default=0)))
    _save(figure, path)


def draw_change(
    before: Progression,
    after: Progression,
    pairs: Sequence[tuple[Series | None, Series]],
    path: Path,
) -> None:
    """Draw how the running totals changed between two moments: before dashed, after solid."""
    from matplotlib.lines import Line2D

    figure = _figure()
    t1 = f"{before.known_at:%Y-%m-%d %H:%M}" if before.known_at else "?"
    t2 = f"as known at {after.known_at:%Y-%m-%d %H:%M}" if after.known_at else "as known now"
    subtitle = f"{after.season_name} · cumulative points as known at {t1} (dashed) and {t2} (solid)"
    axes = _axes(figure, after.races, f"{after.cup_name}: what changed", subtitle)
    xs = range(len(after.races))
    handles = []
    top = 0.0
    for colour, (old, new) in zip(_colours(len(pairs)), pairs, strict=True):
        if old is not None:
            dashed = [float(v) for v in old.cumulative]
            axes.plot(xs, dashed, color=colour, linewidth=1.6, linestyle=(0, (4, 3)))
            top = max(top, *dashed)
        solid = [float(v) for v in new.cumulative]
        axes.plot(xs, solid, color=colour, linewidth=2, marker="o", markersize=3)
        top = max(top, *solid, 0.0)
        handles.append(Line2D([], [], color=colour, linewidth=2, label=_change_label(old, new)))
    handles += [
        Line2D([], [], color="#444444", linestyle=(0, (4, 3)), label=f"as known at {t1}"),
        Line2D([], [], color="#444444", label=t2),
    ]
    axes.legend(
        handles=handles,
        loc="upper left",
        fontsize=9,
        frameon=True,
        framealpha=0.95,
        edgecolor="#cccccc",
    )
    _finish(axes, top)
    _save(figure, path)


def _change_label(old: Series | None, new: Series) -> str:
    was = f"{old.points} (#{old.rank})" if old is not None else "unranked"
    now = f"{new.points} (#{new.rank})" if new.rank else "unranked"
    return f"{new.label}: {was} → {now}" if was != now else f"{new.label}: {now}, unchanged"


def _colours(count: int) -> list[str]:
    return [COLOURS[i % len(COLOURS)] for i in range(count)]
