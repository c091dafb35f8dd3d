"""Dataset card: counts, histograms and the quality-against-level table agree with the manifest."""

from __future__ import annotations

import pandas as pd

from pipeline.levels import QUALITY_WORDS


def table_rows(card: str, heading: str) -> dict[str, list[str]]:
    """The rows of the first markdown table after `heading`, by first cell."""
    lines = card[card.index(heading) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def test_card_counts_and_histograms(built):
    card = (built / "README.md").read_text()
    frame = pd.read_parquet(built / "manifest.parquet")
    counts = table_rows(card, "## Counts")
    assert (
        counts["shards"] == ["2"]
        and counts["reference images"] == ["3"]
        and counts["distorted images"] == ["18"]
    )
    assert counts["ROI labels (manifest rows)"] == [str(len(frame))]
    assert counts["ROIs (all references)"] == ["7"] and counts["ROIs per reference (mean)"] == ["2.3"]
    quality = table_rows(card, "quality:")
    assert list(quality) == list(QUALITY_WORDS)
    assert {w: int(c[0]) for w, c in quality.items()} == {
        w: int((frame["quality_level"] == w).sum()) for w in QUALITY_WORDS
    }
    means = table_rows(card, "## Mean ROI quality")
    expected = frame[(frame["dist_type"] == "blur") & (frame["level"] == 2)]["quality"].mean()
    assert float(means["blur"][1]) == round(expected, 3)
    assert "`topiq_fr`" in card and "`p0`" in card  # provenance


def test_card_figures_are_pngs(built):
    for name in ("quality_vs_level.png", "label_histograms.png"):
        data = (built / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
        assert f"]({name})" in (built / "README.md").read_text()
