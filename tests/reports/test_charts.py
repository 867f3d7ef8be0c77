"""The chart module: SVG that parses, scales that read well, labels that never collide."""

import xml.etree.ElementTree as ET

import pytest

from issues.reports.charts import (
    Series,
    axis_labeller,
    bar_chart,
    label_every,
    line_chart,
    nice_ceiling,
    percent,
    ticks,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg):
    return ET.fromstring(str(svg))


@pytest.mark.parametrize(
    "top, ceiling",
    [(0, 1), (0.7, 1), (1, 1), (3, 5), (11, 20), (21, 25), (26, 50), (999, 1000), (0.031, 0.05)],
)
def test_the_scale_ends_on_a_round_number_at_or_above_the_largest_value(top, ceiling):
    assert nice_ceiling(top) == pytest.approx(ceiling)
    assert ticks(top)[-1] == pytest.approx(ceiling) and ticks(top)[0] == 0


@pytest.mark.parametrize(
    "top, labels",
    [
        (0.024, ["0.0%", "0.5%", "1.0%", "1.5%", "2.0%", "2.5%"]),
        (0.33, ["0%", "10%", "20%", "30%", "40%", "50%"]),
        (0.18, ["0%", "5%", "10%", "15%", "20%"]),
        (0.0004, ["0.00%", "0.01%", "0.02%", "0.03%", "0.04%", "0.05%"]),
    ],
)
def test_rate_scales_step_by_round_percentages_written_alike(top, labels):
    gridlines = ticks(top)
    assert [axis_labeller(gridlines, as_percent=True)(v) for v in gridlines] == labels


@pytest.mark.parametrize(
    "top, gridlines",
    [
        (0, [0, 1]),
        (2, [0, 1, 2]),
        (3, [0, 1, 2, 3, 4, 5]),
        (7, [0, 2, 4, 6, 8, 10]),
        (13, [0, 5, 10, 15, 20]),
        (260, [0, 100, 200, 300, 400, 500]),
    ],
)
def test_counts_of_people_get_whole_numbers_on_their_scale(top, gridlines):
    assert ticks(top, whole=True) == gridlines


def test_bars_are_as_tall_as_their_values_and_named_for_screen_readers():
    svg = parse(
        bar_chart(
            ["1 Nov", "8 Nov"],
            [Series("new confirmed", [10, 5]), Series("unsubscribed", [0, 2])],
            title="Growth <of> & more",
            description="Per week.",
            width=600,
            id_prefix="g",
        )
    )
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "g-title g-desc"
    assert svg.find(f"{SVG}title").text == "Growth <of> & more"  # escaped, then read back
    bars = svg.findall(f"{SVG}rect")
    heights = {bar.find(f"{SVG}title").text: float(bar.get("height")) for bar in bars}
    assert heights["1 Nov: 10 new confirmed"] == pytest.approx(
        2 * heights["8 Nov: 5 new confirmed"], rel=0.01
    )
    assert heights["1 Nov: 0 unsubscribed"] == 0
    assert heights["8 Nov: 2 unsubscribed"] > 0
    assert {bar.get("class") for bar in bars} == {"chart-series-0", "chart-series-1"}


def test_a_narrow_chart_names_fewer_labels_but_always_the_latest():
    labels = [f"{day} Nov" for day in range(1, 13)]
    series = [Series("clicks", list(range(12)))]
    wide = parse(bar_chart(labels, series, title="t", description="d", width=720, id_prefix="w"))
    narrow = parse(bar_chart(labels, series, title="t", description="d", width=340, id_prefix="n"))

    def x_labels(svg):
        return [t.text for t in svg.findall(f"{SVG}text") if t.get("text-anchor") == "middle"]

    assert x_labels(wide) == labels
    assert len(x_labels(narrow)) < len(labels) and x_labels(narrow)[-1] == "12 Nov"
    assert label_every(labels, 300) > label_every(labels, 700) == 1


def test_a_line_chart_puts_each_issue_at_its_rate():
    svg = parse(
        line_chart(
            ["#1", "#2", "#3"],
            [Series("click rate", [0.1, 0.2, 0.05])],
            title="Click rate",
            description="d",
            width=400,
            id_prefix="c",
        )
    )
    dots = svg.findall(f"{SVG}circle")
    assert [d.find(f"{SVG}title").text for d in dots] == [
        "#1: 10.0% click rate",
        "#2: 20.0% click rate",
        "#3: 5.0% click rate",
    ]
    ys = [float(d.get("cy")) for d in dots]
    assert ys[1] < ys[0] < ys[2]  # higher rate, higher on the chart
    assert len(svg.findall(f"{SVG}polyline")) == 1


def test_charts_refuse_series_that_do_not_match_their_labels_and_draw_empty_ones():
    with pytest.raises(ValueError):
        bar_chart(
            ["a"], [Series("x", [1, 2])], title="t", description="d", width=300, id_prefix="e"
        )
    empty = parse(line_chart([], [], title="t", description="d", width=300, id_prefix="z"))
    assert empty.findall(f"{SVG}circle") == []
    assert (percent(0.004), percent(0.25), percent(0)) == ("0.40%", "25.0%", "0.0%")
