"""Drawing a cup's season with matplotlib (only ``ledger chart`` imports this).

matplotlib is an optional extra and slow to import, so it is imported only when a chart is
drawn, through the Agg canvas and the object API (no pyplot, no global figure state). What can
be worked out without it (styles, tick labels, label positions, the footer) is pure and tested
on its own.

Conventions, as newsrooms draw such charts: each line is named at its end (no legend over the
data), colours are Okabe and Ito's colour-blind-safe set, dates carry their year where it
changes, and a footer says where the numbers come from and exactly which state of the log they
are (known-at and head), so that a published picture can be checked against the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import groupby
from typing import Any, NamedTuple

from cli.outputs import OutputTarget
from ledger.errors import InputError, MissingExtraError
from ledger.moments import rfc3339
from ledger.values import format_points
from projections.progression import Progression, RaceTick, Series, key_changed

FORMATS = (".png", ".svg", ".pdf")
# Okabe & Ito, "Color Universal Design" (2008): told apart with every common colour-vision
# deficiency. Yellow is last: it is the hardest to see on white.
OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
# Past eight lines the colours come round again, with another marker each time.
MARKERS = (("o", True), ("s", False), ("^", True), ("D", False), ("v", True))
CONTEXT = "#9a9a9a"  # lines drawn for context, not for the story
INK = "#555555"
BAND = "#f2f2f2"
BEFORE_DASHES = (0, (4, 3))
SIZE = (12, 6.75)  # inches: 1800 x 1012 pixels at 150 dpi
DPI = 150
LABEL_SIZE = 8.0  # points
LABEL_GAP = 1.3  # label line height, in font sizes: labels closer than this would touch
LABEL_OFFSET = 12  # points between a line's end and its label
TICK_SIZE = 7.5


class Style(NamedTuple):
    """How a line is told apart: colour, marker, and whether the marker is filled."""

    colour: str
    marker: str
    filled: bool


def styles(count: int) -> list[Style]:
    """``count`` distinct line styles: the eight colours, then again with the next marker."""
    size = len(OKABE_ITO)
    return [Style(OKABE_ITO[i % size], *MARKERS[(i // size) % len(MARKERS)]) for i in range(count)]


def ink(colour: str) -> str:
    """The colour, darkened until text in it reads on white (WCAG contrast 4.5:1)."""
    rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    while _contrast(rgb) < 4.5:
        rgb = [c * 0.9 for c in rgb]
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


def _contrast(rgb: Sequence[float]) -> float:
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def tick_labels(races: Sequence[RaceTick]) -> list[str]:
    """Each race's id and day; the year under the first race and wherever it changes."""
    labels = []
    year = None
    for race in races:
        label = f"{race.race}\n{race.date.day} {race.date:%b}"
        if race.date.year != year:
            year = race.date.year
            label += f"\n{year}"
        labels.append(label)
    return labels


def spread(wanted: Sequence[float], gap: float, low: float, high: float) -> list[float]:
    """Positions as near the wanted ones as can be, at least ``gap`` apart, in [low, high].

    Least squares under the order of the wanted positions: shifting the i-th lowest down by
    i gaps turns "at least a gap apart" into "in order", which pooling adjacent violators
    solves exactly; clipping that solution to the bounds keeps it the best one. When the
    labels cannot fit, they are packed from ``low`` with a smaller gap.
    """
    count = len(wanted)
    if count == 0:
        return []
    if count > 1 and (high - low) / (count - 1) < gap:
        gap = (high - low) / (count - 1)
    order = sorted(range(count), key=lambda i: wanted[i])
    blocks: list[list[float]] = []  # [mean, size]
    for rank, index in enumerate(order):
        blocks.append([wanted[index] - rank * gap, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, size = blocks.pop()
            blocks[-1] = [
                (blocks[-1][0] * blocks[-1][1] + mean * size) / (blocks[-1][1] + size),
                blocks[-1][1] + size,
            ]
    top = high - (count - 1) * gap
    positions = [0.0] * count
    rank = 0
    for mean, size in blocks:
        for _ in range(int(size)):
            positions[order[rank]] = min(max(mean, low), top) + rank * gap
            rank += 1
    return positions


def footer(source: str, charts: Sequence[Progression]) -> str:
    """Where the numbers come from and which state of the log they are, for the chart's foot."""
    day = charts[-1].as_of
    known = " → ".join(_known(chart) for chart in charts)
    return (
        f"Source: {source}, via results-ledger · {f'as of {day}' if day else 'all races'}"
        f" · known at {known}"
    )


def _known(chart: Progression) -> str:
    moment = rfc3339(chart.known_at) if chart.known_at is not None else "now"
    head = f"log head {chart.head.position} {chart.head.hash[:12]}" if chart.head else "empty log"
    return f"{moment} ({head})"


def check_output(target: OutputTarget) -> None:
    """Reject an output name whose format cannot be drawn, or a file that may not be written
    (``cli.outputs``), before any work is done."""
    path = target.path
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"--output {path}: name a .png, .svg or .pdf file")
    target.check()


def _figure() -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError(
            "charts need matplotlib: pip install 'results-ledger[charts]'"
        ) from None
    figure = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, target: OutputTarget) -> None:
    import io

    import matplotlib

    # Text stays text in SVG (searchable, accessible); metadata without dates keeps the
    # output the same from one run to the next.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "results-ledger"}):
        suffix = target.path.suffix.lower()
        metadata = {"Software": None} if suffix == ".png" else {"Date": None}
        picture = io.BytesIO()
        figure.savefig(picture, format=suffix[1:], metadata=metadata, facecolor="white")
    target.write(picture.getvalue())


def _widest(figure: Any, texts: Sequence[str], size: float) -> float:
    """The widest line of the texts at a font size, in pixels."""
    renderer = figure.canvas.get_renderer()
    widest = 0.0
    for text in {line for t in texts for line in t.splitlines()}:
        probe = figure.text(0, 0, text, fontsize=size)
        widest = max(widest, probe.get_window_extent(renderer).width)
        probe.remove()
    return widest


def _label_room(figure: Any, texts: Sequence[str]) -> float:
    """The room line-end labels need beside the plot, as a fraction of the figure's width."""
    offset = (LABEL_OFFSET + 6) * DPI / 72
    return (_widest(figure, texts, LABEL_SIZE) + offset) / (SIZE[0] * DPI)


def _frame(
    figure: Any, title: str, subtitle: str, left: float, right: float, top: float = 0.84
) -> Any:
    """The axes, in fixed margins: labels need known room beside the plot, not a legend in it."""
    figure.text(0.01, 0.975, title, fontsize=15, fontweight="bold", va="top")
    figure.text(0.01, 0.925, subtitle, fontsize=10, color=INK, va="top")
    figure.subplots_adjust(left=left, right=right, top=top, bottom=0.15)
    axes = figure.add_subplot()
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return axes


def _foot(figure: Any, text: str) -> None:
    figure.text(0.01, 0.012, text, fontsize=7, color=INK, va="bottom")


def _meetings(figure: Any, axes: Any, races: Sequence[RaceTick]) -> None:
    labels = tick_labels(races)
    # A smaller font rather than ids run together, when the labels beside the plot leave
    # each race little room.
    room = axes.get_position().width * SIZE[0] * DPI / max(len(races) + 0.2, 1)
    widest = _widest(figure, labels, TICK_SIZE)
    font = TICK_SIZE if widest <= 0.9 * room else max(5.0, TICK_SIZE * 0.9 * room / widest)
    axes.set_xticks(range(len(races)), labels, fontsize=font)
    axes.set_xlim(-0.6, len(races) - 0.4)
    axes.set_ylabel("cumulative points")
    axes.grid(axis="y", color="#dddddd", linewidth=0.8)
    axes.set_axisbelow(True)
    # One band per meeting (a venue's consecutive races), named at the top.
    start = 0
    for index, (place, group) in enumerate(groupby(races, key=lambda r: r.location)):
        size = len(list(group))
        if index % 2 == 0:
            axes.axvspan(start - 0.5, start + size - 0.5, color=BAND, zorder=0, linewidth=0)
        axes.text(
            start + (size - 1) / 2,
            1.0,
            (place or "").split(",")[0],
            transform=axes.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
            color="#666666",
        )
        start += size


def _floats(values: Sequence[Any]) -> list[float]:
    """Exact points as the floats a picture is drawn with (only here: nothing is computed)."""
    return [float(v) for v in values]


def _points_range(axes: Any, top: Any) -> tuple[float, float]:
    high = max(float(top) * 1.06, 1)
    axes.set_ylim(0, high)
    return 0, high


def _gap(axes: Any, low: float, high: float) -> float:
    """The height of a label line, in the axes' data units."""
    height = axes.get_position().height * SIZE[1] * 72  # points
    return float(LABEL_SIZE * LABEL_GAP / height * (high - low))


def _label_ends(
    axes: Any,
    ends: Sequence[tuple[float, float, str, str]],
    gap: float,
    low: float,
    high: float,
    *,
    side: str = "right",
) -> None:
    """Name lines at their ends, (x, y, text, colour) each, nudged apart so none overlap."""
    from matplotlib.transforms import offset_copy

    ys = spread([y for _, y, _, _ in ends], gap, low, high)
    shift = LABEL_OFFSET if side == "right" else -LABEL_OFFSET
    place = offset_copy(axes.transData, fig=axes.figure, x=shift, units="points")
    for (x, y, text, colour), at in zip(ends, ys, strict=True):
        axes.annotate(
            text,
            xy=(x, y),
            xytext=(x, at),
            textcoords=place,
            fontsize=LABEL_SIZE,
            color=ink(colour),
            ha="left" if side == "right" else "right",
            va="center",
            annotation_clip=False,
            arrowprops={
                "arrowstyle": "-",
                "color": colour,
                "linewidth": 0.6,
                # From the end of the text nearest the line, so it crosses no other label.
                "relpos": (0, 0.5) if side == "right" else (1, 0.5),
                "shrinkA": 1.5,
                "shrinkB": 3,
            },
        )


def _when(chart: Progression) -> str:
    day = chart.as_of
    when = f"as of {day.day} {day:%B %Y}" if day else "all races"
    if chart.known_at is not None:
        when += f", as known at {_moment(chart.known_at)}"
    return when


def _moment(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _plot_line(axes: Any, xs: range, ys: Sequence[Any], style: Style, **kw: Any) -> None:
    axes.plot(
        xs,
        _floats(ys),
        color=style.colour,
        marker=style.marker,
        markersize=4 if style.filled else 3.6,
        markerfacecolor=style.colour if style.filled else "white",
        markeredgewidth=1.1,
        **kw,
    )


def draw_season(
    chart: Progression, lines: Sequence[Series], path: OutputTarget, source: str
) -> None:
    """Draw the leading competitors' running totals race by race, each named at its end."""
    figure = _figure()
    labels = [f"{s.rank}. {s.label} — {s.points}" for s in lines]
    subtitle = f"{chart.season_name} · cumulative points race by race · {_when(chart)}"
    axes = _frame(figure, chart.cup_name, subtitle, 0.06, 0.99 - _label_room(figure, labels))
    _meetings(figure, axes, chart.races)
    low, high = _points_range(axes, max((max(s.cumulative, default=0) for s in lines), default=0))
    xs = range(len(chart.races))
    last = len(chart.races) - 1
    ends = []
    for style, series, label in zip(styles(len(lines)), lines, labels, strict=True):
        _plot_line(axes, xs, series.cumulative, style, linewidth=2)
        if series.cumulative:
            ends.append((last, float(series.cumulative[-1]), label, style.colour))
    _label_ends(axes, ends, _gap(axes, low, high), low, high)
    _foot(figure, footer(source, [chart]))
    _save(figure, path)


def _change_label(old: Series | None, new: Series) -> str:
    was = f"{format_points(old.points)} (#{old.rank})" if old is not None else "unranked"
    now = f"{format_points(new.points)} (#{new.rank})" if new.rank else "unranked"
    name = new.label
    if old is not None and old.label != new.label:
        name = f"{new.label}, was {old.label}"  # renamed: the same competitor, one line
    return f"{name}: {was} → {now}" if was != now else f"{name}: {now}, unchanged"


def _colours(moved: Sequence[bool]) -> list[Style | None]:
    """A style for each competitor who moved (the story); None for those shown for context."""
    palette = iter(styles(sum(moved)))
    return [next(palette) if m else None for m in moved]


def _times(before: Progression, after: Progression) -> tuple[str, str]:
    t1 = _moment(before.known_at) if before.known_at else "?"
    t2 = _moment(after.known_at) if after.known_at else "now"
    return t1, t2


def draw_change(
    before: Progression,
    after: Progression,
    pairs: Sequence[tuple[Series | None, Series]],
    path: OutputTarget,
    source: str,
) -> None:
    """Draw how the running totals changed: those who moved dashed before and solid after."""
    from matplotlib.lines import Line2D

    figure = _figure()
    t1, t2 = _times(before, after)
    labels = [_change_label(old, new) for old, new in pairs]
    day = f"as of {after.as_of.day} {after.as_of:%B %Y}" if after.as_of else "all races"
    subtitle = f"{after.season_name} · cumulative points race by race · {day}"
    right = 0.99 - _label_room(figure, labels)
    axes = _frame(figure, f"{after.cup_name}: what changed", subtitle, 0.06, right)
    _meetings(figure, axes, after.races)
    top = max((max(s.cumulative, default=0) for p in pairs for s in p if s is not None), default=0)
    low, high = _points_range(axes, top)
    xs = range(len(after.races))
    last = len(after.races) - 1
    ends = []
    moved = [key_changed(old, new) for old, new in pairs]
    for index, (style, (old, new), label) in enumerate(
        zip(_colours(moved), pairs, labels, strict=True)
    ):
        # Who moved most comes first, and is drawn on top of the others.
        layer = 3 + (len(pairs) - index) / (len(pairs) + 1)
        if style is None:
            axes.plot(xs, _floats(new.cumulative), color=CONTEXT, linewidth=1.2, zorder=1)
            colour = CONTEXT
        else:
            if old is not None:
                axes.plot(
                    xs,
                    _floats(old.cumulative),
                    color=style.colour,
                    linewidth=1.4,
                    linestyle=BEFORE_DASHES,
                    zorder=layer,
                )
            _plot_line(axes, xs, new.cumulative, style, linewidth=2, zorder=layer)
            colour = style.colour
        if new.cumulative:
            ends.append((last, float(new.cumulative[-1]), label, colour))
    _label_ends(axes, ends, _gap(axes, low, high), low, high)
    # The key to the two line patterns, above the plot beside the subtitle, covering nothing.
    figure.legend(
        handles=[
            Line2D([], [], color=INK, linestyle=BEFORE_DASHES, label=f"as known at {t1}"),
            Line2D([], [], color=INK, linewidth=2, label=f"as known at {t2}"),
        ],
        loc="upper right",
        bbox_to_anchor=(0.995, 0.995),
        ncols=1,
        fontsize=8,
        frameon=False,
    )
    _foot(figure, footer(source, [before, after]))
    _save(figure, path)


def draw_slope(
    before: Progression,
    after: Progression,
    pairs: Sequence[tuple[Series | None, Series]],
    path: OutputTarget,
    source: str,
    *,
    measure: str = "rank",
) -> None:
    """Draw each competitor's rank (or points) as known at two times, one line each."""
    figure = _figure()
    t1, t2 = _times(before, after)
    by_rank = measure == "rank"
    out = 1 + max((s.rank for pair in pairs for s in pair if s is not None), default=0)

    def value(series: Series | None) -> float:
        if series is None or not series.rank:
            return out if by_rank else 0
        return series.rank if by_rank else float(series.points)

    def text(series: Series | None, other: Series) -> str:
        if series is None or not series.rank:
            return f"{other.label} — unranked"
        return f"{series.rank}. {series.label} — {series.points}"

    lefts = [text(old, new) for old, new in pairs]
    rights = [text(new, new) for _, new in pairs]
    margin = _label_room(figure, lefts + rights) + 0.015
    what = "rank" if by_rank else "points"
    day = f"as of {after.as_of}" if after.as_of else "all races"
    subtitle = f"{after.season_name} · {what} as known at {t1} and at {t2} · {day}"
    # Lower than the other charts' plots: the column heads sit above it.
    title = f"{after.cup_name}: before and after"
    axes = _frame(figure, title, subtitle, margin, 1 - margin, top=0.78)
    axes.set_xlim(0, 1)
    axes.xaxis.tick_top()
    axes.set_xticks([0, 1], [f"as known at\n{t1}", f"as known at\n{t2}"], fontsize=9)
    axes.tick_params(axis="x", length=0, pad=10)
    axes.set_yticks([])
    for side in ("left", "bottom"):
        axes.spines[side].set_visible(False)
    values = [value(s) for pair in pairs for s in pair]
    if by_rank:
        low, high = min(values, default=1) - 0.5, max(values, default=1) + 0.5
        axes.set_ylim(high, low)  # first place on top
    else:
        # A slope compares two values; unlike a bar, it needs no zero on its axis.
        least, most = min(values, default=0), max(values, default=0)
        pad = max((most - least) * 0.08, 1)
        low, high = least - pad, most + pad
        axes.set_ylim(low, high)
    gap = _gap(axes, low, high)
    lefts_at: list[tuple[float, float, str, str]] = []
    rights_at: list[tuple[float, float, str, str]] = []
    moved = [value(old) != value(new) for old, new in pairs]
    for index, (style, (old, new), left, right) in enumerate(
        zip(_colours(moved), pairs, lefts, rights, strict=True)
    ):
        colour = CONTEXT if style is None else style.colour
        axes.plot(
            [0, 1],
            [value(old), value(new)],
            color=colour,
            linewidth=1.2 if style is None else 2.4,
            marker="o",
            markersize=4 if style is None else 5.5,
            # Who moved most comes first, and is drawn on top of the others.
            zorder=1 if style is None else 3 + (len(pairs) - index) / (len(pairs) + 1),
            clip_on=False,
        )
        lefts_at.append((0, value(old), left, colour))
        rights_at.append((1, value(new), right, colour))
    # Spreading works in data units, which an inverted (rank) axis keeps: no special case.
    _label_ends(axes, lefts_at, gap, low, high, side="left")
    _label_ends(axes, rights_at, gap, low, high)
    _foot(figure, footer(source, [before, after]))
    _save(figure, path)
