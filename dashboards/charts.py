"""Plotly figure builders shared by the pages. Inputs are published (disclosure-controlled) aggregates.

Labels that came from data are HTML-escaped before they reach plotly.js, which reads
``<...>`` in text as markup; it shows the entities as the original characters.
Shapes carry meaning as well as colour: circles are within the limits, triangles up/down
are above/below them (Fingertips-style RAG for readers who cannot tell the colours apart).
"""

from __future__ import annotations

import html
import textwrap
from functools import lru_cache

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboards.labels import words
from dashboards.page import PALETTE
from models.readmission.funnel import Dispersion, funnel_limits

# A funnel unit's place against the limits: beyond the 99.8% limits (filled triangle), beyond the 95% limits only
# (open triangle), or within both (circle).
SHAPES = {"high": "triangle-up", "low": "triangle-down", "high_95": "triangle-up-open", "low_95": "triangle-down-open",
          "within": "circle"}
WORDS = {"high": "above the 99.8% limit", "low": "below the 99.8% limit", "high_95": "above the 95% limit only",
         "low_95": "below the 95% limit only", "within": "within the 95% limits"}
#: fill patterns of a chart's bar series in turn, the first plain: series told apart by more than colour (WCAG 2.2
#: 1.4.1), also in grey scale
PATTERNS = ("", "/", ".", "x", "\\", "+", "-", "|")


def pattern(i: int) -> dict:
    """The fill pattern of a chart's ``i``-th bar series (plotly ``marker.pattern``)."""
    return {"shape": PATTERNS[i % len(PATTERNS)]}


def esc(values) -> list[str]:
    """Labels with plotly's markup characters (<, >, &) escaped; quotes stay, as plotly shows "&quot;" as it is."""
    return [html.escape(str(v), quote=False) for v in values]


def wrapped(values, width: int = 26) -> list[str]:
    """:func:`esc`'d labels in words (``prior_emergency_12m`` is "Emergency admissions in the prior 12 months") broken
    into lines of at most ``width`` characters (category labels that fit a phone)."""
    return ["<br>".join(html.escape(line, quote=False) for line in textwrap.wrap(words(str(v)), width)) for v in values]


def row_height(labels) -> int:
    """Pixels per category row that hold its :func:`wrapped` label's lines (12 px type) apart from the next one's."""
    return 16 + 15 * max((str(label).count("<br>") + 1 for label in labels), default=1)


#: Characters per line of an empty chart's note: its lines fit a 320 px screen (in one line, the time-bank funnel's
#: note ran off both sides of a phone).
NOTE_WIDTH = 36


@lru_cache(maxsize=256)
def no_data(title: str, message: str = "No published data for this selection.") -> go.Figure:
    """An empty chart that says why (still a rendered plot, so the page layout holds). Shared: do not modify."""
    figure = go.Figure()
    figure.add_annotation(text="<br>".join(html.escape(line) for line in textwrap.wrap(message, NOTE_WIDTH)),
                          showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return figure.update_layout(title=title, xaxis_visible=False, yaxis_visible=False,
                                height=max(260, 200 + 15 * len(textwrap.wrap(message, NOTE_WIDTH))))


#: The smallest plot area (px) a funnel plot is drawn in: a 320 px screen's chart less its margins, under a title of
#: three lines. Names placed apart there stay apart on any wider screen: the points only move further apart.
FUNNEL_PLOT_PX = (200.0, 180.0)
#: A unit name's box at plotly's 12 px text: width per character and height (px), and the marker's radius.
LABEL_CHAR_PX, LABEL_PX, MARKER_RADIUS_PX = 7.5, 15.0, 6.0
TARGET_LABEL = "target 1 (the whole)"
#: Where a name may sit, in order of preference: plotly's ``textposition`` and the box's (left, bottom) offset from
#: the point, given the box's width ``w`` (px, y upwards).
LABEL_PLACES = (("top center", lambda w: (-w / 2, MARKER_RADIUS_PX)),
                ("bottom center", lambda w: (-w / 2, -MARKER_RADIUS_PX - LABEL_PX)),
                ("middle right", lambda w: (MARKER_RADIUS_PX, -LABEL_PX / 2)),
                ("middle left", lambda w: (-MARKER_RADIUS_PX - w, -LABEL_PX / 2)))


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_places(x, y, names, x_range: tuple[float, float], y_range: tuple[float, float]) -> list[str | None]:
    """The ``textposition`` of each point's name, or None where every place would cover another name, a point or the
    target's label, or leave the plot, in :data:`FUNNEL_PLOT_PX`. Points are placed in the order given: the ones that
    matter most first. On the page, a name that still covers another at the screen's width is hidden
    (``page.LABEL_SCRIPT``): it stays on hover and in the table."""
    width, height = FUNNEL_PLOT_PX
    px = [((float(a) - x_range[0]) / (x_range[1] - x_range[0]) * width,
           (float(b) - y_range[0]) / (y_range[1] - y_range[0]) * height) for a, b in zip(x, y)]
    one = (1.0 - y_range[0]) / (y_range[1] - y_range[0]) * height
    taken = [(0.0, one - LABEL_PX - 2, len(TARGET_LABEL) * LABEL_CHAR_PX, one)]  # "target 1 (the whole)", bottom left
    markers = [(a - MARKER_RADIUS_PX, b - MARKER_RADIUS_PX, a + MARKER_RADIUS_PX, b + MARKER_RADIUS_PX) for a, b in px]
    places = []
    for i, ((a, b), name) in enumerate(zip(px, names)):
        w = len(str(name)) * LABEL_CHAR_PX
        for place, offset in LABEL_PLACES:
            dx, dy = offset(w)
            box = (a + dx, b + dy, a + dx + w, b + dy + LABEL_PX)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height
            if inside and not any(_overlaps(box, t) for t in (*taken, *markers[:i], *markers[i + 1:])):
                taken.append(box)
                places.append(place)
                break
        else:
            places.append(None)
    return places


def funnel(units: pd.DataFrame, title: str) -> go.Figure:
    """O/E against expected, with the 95% and 99.8% limits traced over a grid of expected counts.

    ``units``: published rows of marts.readmission_funnel for one unit type (suppressed ones dropped).
    The limits use the unit type's own dispersion (columns ``overdispersion``, ``phi``, ``tau2``). Each point is
    named beside it, placed to leave room on a phone (:func:`label_places`), outliers first; every one on hover.
    """
    first = units.iloc[0]
    dispersion = Dispersion(str(first["overdispersion"]), float(first["phi"]) if pd.notna(first["phi"]) else 1.0,
                            float(first["tau2"] or 0.0), len(units), "")
    top = max(float(units["expected"].max()) * 1.15, 2.0)
    grid = np.linspace(max(float(units["expected"].min()) * 0.5, 0.2), top, 200)
    limits = funnel_limits(grid, dispersion)
    y_top = max(float(units["ratio"].max()), float(units["upper_998"].max()), 1.5) * 1.15
    figure = go.Figure()
    for level, dash, color in (("95", "dash", PALETTE[3]), ("998", "solid", PALETTE[5])):
        label = "95%" if level == "95" else "99.8%"
        for side in ("lower", "upper"):
            figure.add_trace(go.Scatter(x=grid, y=limits[f"{side}_{level}"], mode="lines", name=f"{label} limits",
                                        line={"dash": dash, "color": color, "width": 1.5},
                                        showlegend=side == "lower", hoverinfo="skip"))
    figure.add_hline(y=1.0, line_color="#555", annotation_text=TARGET_LABEL, annotation_position="bottom left")
    place = units["outlier_998"].where(units["outlier_998"] != "within", units["outlier_95"].map(
        {"high": "high_95", "low": "low_95"}).fillna("within"))
    ordered = units.assign(place=place).sort_values("place", key=lambda p: p.map(list(SHAPES).index), kind="stable")
    y_range = (-0.06 * y_top, y_top)
    ordered["textposition"] = label_places(ordered["expected"], ordered["ratio"], ordered["unit"], (0.0, top), y_range)
    for status, group in ordered.groupby("place", sort=False):
        figure.add_trace(go.Scatter(
            x=group["expected"], y=group["ratio"], mode="markers+text", customdata=esc(group["unit"]),
            text=esc(group["unit"]), textposition=[p or "top center" for p in group["textposition"]],
            name=f"unit {WORDS[status]}", marker={"symbol": SHAPES[status], "size": 12, "color": PALETTE[0]},
            hovertemplate="%{customdata}: O/E %{y:.2f}, expected %{x:.1f}<extra></extra>"))
    return figure.update_layout(title=title, xaxis_title="expected readmissions (risk-adjusted)",
                                yaxis_title="observed / expected", yaxis_range=list(y_range), height=440,
                                xaxis_range=[0.0, top])


#: The dashed line of a benchmark, and its legend entry: dark grey (7:1 on white), apart from the series' colours.
BENCHMARK_COLOUR = "#505a5f"


def rate_bars(frame: pd.DataFrame, x: str, title: str, y_title: str, benchmark: float | str | None = None) -> go.Figure:
    """Bars (or points over periods) of ``rate`` with Wilson ``ci_low``/``ci_high``, in per cent."""
    drawn = isinstance(benchmark, (int, float))  # a suppressed benchmark ("*") is not drawn
    figure = go.Figure(go.Bar(
        x=esc(frame[x]), y=100 * frame["rate"], name=y_title, marker_color=PALETTE[0],
        showlegend=False if drawn else None,  # the legend names the benchmark: the bars are named by the axes
        error_y={"type": "data", "symmetric": False, "array": 100 * (frame["ci_high"] - frame["rate"]),
                 "arrayminus": 100 * (frame["rate"] - frame["ci_low"])}))
    if drawn:
        # named in the legend under the chart: its label on the line sat over the last bar's error bar
        figure.add_hline(y=100 * benchmark, line_dash="dash", line_color=BENCHMARK_COLOUR)
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"benchmark: all discharges, {100 * benchmark:.1f}%",
                                    line={"dash": "dash", "color": BENCHMARK_COLOUR}, hoverinfo="skip"))
        figure.update_layout(showlegend=True)
    # every category named: at 320 px plotly printed every other quarter (8 of 16)
    return figure.update_layout(title=title, yaxis_title=y_title, height=380, xaxis_dtick=1)


def km(curves: pd.DataFrame, title: str, x_title: str = "days since the index event") -> go.Figure:
    """Kaplan-Meier steps with pointwise 95% bands, one line per programme and group (participants solid, comparison
    dashed); ``x_title``: what the days count from (the comparison's time zero). A programme's participants take a colour
    and its comparison the next: blue and orange for the first, as in the pages' other charts."""
    figure = go.Figure()
    programmes = sorted(curves["programme"].unique())
    for (programme, group), rows in curves.groupby(["programme", "group"], sort=True):
        rows = rows.sort_values("time_days")
        color = PALETTE[(2 * programmes.index(programme) + (group != "participants")) % len(PALETTE)]
        name = html.escape(f"{programme}: {group}")
        figure.add_trace(go.Scatter(x=rows["time_days"], y=rows["ci_high"], line_shape="hv", mode="lines",
                                    line={"width": 0}, showlegend=False, hoverinfo="skip"))
        figure.add_trace(go.Scatter(x=rows["time_days"], y=rows["ci_low"], line_shape="hv", mode="lines",
                                    line={"width": 0}, fill="tonexty", fillcolor="rgba(120,120,120,0.15)",
                                    showlegend=False, hoverinfo="skip"))
        figure.add_trace(go.Scatter(x=rows["time_days"], y=rows["survival"], line_shape="hv", mode="lines", name=name,
                                    line={"color": color, "dash": "solid" if group == "participants" else "dash"}))
    return figure.update_layout(title=title, xaxis_title=x_title,
                                yaxis_title="share without a proven reoffence", yaxis_range=[0, 1.02], height=420)


def forest(frame: pd.DataFrame, label: str, title: str, x_title: str, reference: float) -> go.Figure:
    """Estimates with 95% intervals (``estimate``, ``ci_low``, ``ci_high``), one row per ``label``."""
    labels = wrapped(frame[label])
    figure = go.Figure(go.Scatter(
        x=frame["estimate"], y=labels, mode="markers", marker={"symbol": "square", "color": PALETTE[0]},
        error_x={"type": "data", "symmetric": False, "array": frame["ci_high"] - frame["estimate"],
                 "arrayminus": frame["estimate"] - frame["ci_low"]}, name="estimate and 95% interval"))
    figure.add_vline(x=reference, line_dash="dash", line_color="#555")
    return figure.update_layout(title=title, xaxis_title=x_title, height=max(300, 60 + row_height(labels) * len(frame)),
                                yaxis_autorange="reversed")


def tornado(rows: pd.DataFrame, base: float, title: str) -> go.Figure:
    """SROI ratio at the low and high end of each assumption's range, widest first; base ratio as a line."""
    labels = wrapped(rows["outcome"] + ": " + rows["assumption"])
    figure = go.Figure()
    figure.add_trace(go.Bar(y=labels, x=rows["ratio_low"] - base, base=base, orientation="h", name="ratio at the low end",
                            marker_color=PALETTE[1]))
    figure.add_trace(go.Bar(y=labels, x=rows["ratio_high"] - base, base=base, orientation="h", name="ratio at the high end",
                            marker_color=PALETTE[0], marker_pattern=pattern(1)))
    # above the plot, where no bar is: inside it, the label sat on the widest bar (drawn first, at the top)
    figure.add_vline(x=base, line_color="#000", annotation_text=f"base {base:.2f}", annotation_position="top")
    lo = float(min(rows["ratio_low"].min(), rows["ratio_high"].min(), base))
    hi = float(max(rows["ratio_low"].max(), rows["ratio_high"].max(), base))
    pad = max(hi - lo, abs(base) * 0.05, 1e-3) * 0.1
    if lo - pad <= 1.0 <= hi + pad:  # draw 1:1 only when it is inside the bars' range, so the bars keep their width
        figure.add_vline(x=1.0, line_dash="dash", line_color=PALETTE[5], annotation_text="1:1", annotation_position="bottom")
    return figure.update_layout(title=title, barmode="overlay", xaxis_title="SROI ratio (£ of value per £1)",
                                xaxis_range=[lo - pad, hi + pad], yaxis_autorange="reversed",
                                height=max(300, 80 + row_height(labels) * len(rows)))


def distance(frame: pd.DataFrame, title: str, low: float, high: float) -> go.Figure:
    """Distance travelled per area: first and latest mean reading joined by a line, on the instrument's full scale,
    each area named with its mean change (``change``, the published one): "Accommodation: −0.73".

    The full scale, not one zoomed onto the means: the Star's 1-10 is a Journey of Change, and a fall of 0.4 drawn
    across half the chart read as a collapse; a dot plot encodes no length from zero, so the change is written out
    instead, where it cannot be misread and a reader at 390 px need not tell two overlapping circles apart (beside the
    markers, the page hid it where it touched one)."""
    labels = wrapped(f"{a}: {f'{c:+.2f}'.replace('-', '−')}" if pd.notna(c) else a for a, c in zip(frame["area"], frame["change"]))
    lines = [{"type": "scatter", "x": [f, l], "y": [a, a], "mode": "lines", "line": {"color": "#b1b4b6", "width": 3},
              "showlegend": False, "hoverinfo": "skip"} for a, f, l in zip(labels, frame["first"], frame["latest"])]
    figure = go.Figure([*lines,  # one figure from every trace at once: adding them one by one re-validates the figure
                        go.Scatter(x=frame["first"], y=labels, mode="markers", name="first reading (mean)",
                                   marker={"symbol": "circle-open", "size": 12, "color": PALETTE[1], "line": {"width": 2}}),
                        go.Scatter(x=frame["latest"], y=labels, mode="markers", name="latest reading (mean)",
                                   marker={"symbol": "circle", "size": 12, "color": PALETTE[0]})])
    return figure.update_layout(title=title, xaxis={"range": [low - 0.3, high + 0.3], "title": f"score ({low} to {high}, the "
                                                    "instrument's own scale)", "dtick": 1},
                                yaxis_autorange="reversed", height=140 + row_height(labels) * len(frame))
