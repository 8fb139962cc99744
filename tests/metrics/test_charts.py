"""The SVG chart functions: valid XML, labels escaped, the figures where they belong."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from qbo_sync.admin import charts

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script> & co'


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    return root


def texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter() if el.tag in (f"{SVG}text", f"{SVG}title",
                                                              f"{SVG}desc")]


def test_stacked_bars_are_valid_and_escape_labels() -> None:
    svg = charts.stacked_bars("t1", f"Syncs {EVIL}", ["09:00", EVIL, "11:00"], [
        ("succeeded", [3, 0, 5], charts.GREEN), (EVIL, [1, 2, None], charts.RED)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = parse(svg)
    # Four non-zero segments, each with a tooltip naming its value.
    rects = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [r.find(f"{SVG}title").text for r in rects] == [
        "09:00: 3 succeeded", f"09:00: 1 {EVIL}", f"{EVIL}: 2 {EVIL}", "11:00: 5 succeeded"]
    # The y axis runs to the next 1/2/5 step above the tallest bar (5 → 5).
    assert "5" in texts(root) and root.find(f"{SVG}desc").text == \
        f"Totals in the window: succeeded: 8; {EVIL}: 3."
    # Heights are proportional: 5 of 5 fills the plot.
    plot = charts.HEIGHT - charts.TOP - charts.BOTTOM
    assert float(rects[-1].get("height")) == plot


def test_lines_with_gaps_and_a_limit() -> None:
    svg = charts.lines("t2", "Calls", ["a", "b", "c", "d"], [
        ("calls/min", [100, None, 300, 450], charts.BLUE)],
        limit=("QuickBooks limit", 500))
    root = parse(svg)
    polylines = list(root.iter(f"{SVG}polyline"))
    assert len(polylines) == 1 and len(polylines[0].get("points").split()) == 2  # c–d
    assert len(list(root.iter(f"{SVG}circle"))) == 3
    limit = [ln for ln in root.iter(f"{SVG}line") if ln.get("stroke-dasharray")
             and ln.find(f"{SVG}title") is not None]
    assert limit[0].find(f"{SVG}title").text == "QuickBooks limit: 500"
    # The limit line sits at the top of the axis (500 is the axis' maximum).
    assert float(limit[0].get("y1")) == charts.TOP
    assert "calls/min peak 450; QuickBooks limit 500." == root.find(f"{SVG}desc").text


def test_latency_labels_use_time_units() -> None:
    root = parse(charts.lines("t3", "Latency", ["x"], [("p95", [90.0], charts.AMBER)],
                              unit="s"))
    assert "x: p95 1.5m" in texts(root)


def test_horizontal_bars_escape_and_keep_order() -> None:
    root = parse(charts.hbars("t4", "Errors", [("6240", 4), (EVIL, 2), ("none", 0)]))
    labels = [el.text for el in root.iter(f"{SVG}text")][1:]
    assert labels[:4] == ["6240", "4", EVIL[:24], "2"]


def test_no_data_says_so() -> None:
    for svg in (charts.stacked_bars("e1", "Nothing", ["a"], [("x", [0], charts.GREEN)]),
                charts.lines("e2", "Nothing", [], []),
                charts.hbars("e3", "Nothing", [])):
        assert "No data in this window." in texts(parse(svg))


def test_themes_colour_text_from_the_admin() -> None:
    svg = str(charts.lines("t5", "Queue", ["a", "b"], [("waiting", [1, 2], charts.BLUE)]))
    assert "var(--body-fg" in svg and "var(--hairline-color" in svg
    assert 'fill="currentColor"' in svg and "#000" not in svg and "#fff" not in svg


def test_nice_max() -> None:
    assert [charts.nice_max(v) for v in (0, 0.3, 1, 3, 7, 11, 450, 501)] == [
        1, 0.5, 1, 5, 10, 20, 500, 1000]
