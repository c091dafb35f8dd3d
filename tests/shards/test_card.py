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


def test_card_severity_histogram_counts_only_labels_with_a_distortion(built):
    card = (built / "README.md").read_text()
    frame = pd.read_parquet(built / "manifest.parquet")
    severity = table_rows(card, "severity (labels with a distortion only):")
    assert sum(int(c[0]) for c in severity.values()) == int((frame["distortion"] != "none").sum())
    assert frame.loc[frame["distortion"] == "none", "severity"].isna().all()


def test_card_has_the_label_fidelity_section(built):
    from pipeline.labels.fidelity import label_fidelity

    card = (built / "README.md").read_text()
    frame = pd.read_parquet(built / "manifest.parquet")
    rows = table_rows(card, "## Label fidelity")
    measured = label_fidelity(frame)["per_type"]
    assert set(rows) == set(measured)
    for dist_type, cells in rows.items():  # two levels here: no Spearman, no level 20 (shown as n/a)
        assert cells[1] == "n/a" and float(cells[2]) == round(measured[dist_type]["level1_clean_pct"], 1)
    assert "Clean labels" in card and "Word shares" in card


def test_card_compares_the_calibration_halves_of_its_references(built):
    from pipeline.labels.fidelity import between_halves

    card = (built / "README.md").read_text()
    check = between_halves(pd.read_parquet(built / "manifest.parquet"))
    assert check["references"] == 3 and check["fit_references"] == sorted(check["fit_references"])
    assert f"is **{check['largest_difference_pp']:.1f} points**" in card
    assert f"fit half ({', '.join(check['fit_references'])})" in card
    assert f"check half ({', '.join(check['check_references'])})" in card
