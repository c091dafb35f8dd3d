"""The SEAGULL-3k section of the dataset card: who rated, the rules, agreement per question, exclusions."""

from __future__ import annotations

from typing import Any

SIMULATED_NOTICE = (
    "**These ratings come from SIMULATED annotators** (seeded noise around a reference rating derived "
    "from the demo recipes, `pipeline/sg3k/simulate.py`), not from people. The shards exercise the "
    "pipeline; they are not a dataset for conclusions about image quality.\n"
)


def card_section(summary: dict[str, Any], simulated: bool) -> str:
    """Markdown appended to the shards' README.md, from aggregation.json's summary."""
    rules = summary["rules"]
    lines = ["## SEAGULL-3k annotation\n"]
    if simulated:
        lines.append(SIMULATED_NOTICE)
    lines += [
        f"- ROIs (tasks): {summary['n_tasks']}; labelled: {summary['n_labelled']}; "
        f"left out: {len(summary['excluded'])} (fewer than {rules['min_ratings']} ratings)",
        f"- ratings: {summary['n_ratings']} by {summary['annotators']} annotators "
        f"(sources: {', '.join(summary['sources'])}); {summary['replaced_ratings']} replaced by the same "
        "annotator's later rating",
        f'- rules: a strict majority of "non-existent" = without (a tie counts as with: '
        f"{'without' if rules['absent_on_tie'] else 'with'}); severity = mean of the "
        f"{'levels rated as present (0..4)' if rules['severity_over'] == 'present' else 'ratings, 5 included'}; "
        "quality and importance = means; eq. 1 words.\n",
        "### Agreement per question (Krippendorff's alpha)\n",
        "| question | alpha | level of measurement | ROIs | annotators |",
        "|---|---|---|---|---|",
    ]
    for question, entry in summary["agreement"].items():
        alpha = "–" if entry["alpha"] is None else f"{entry['alpha']:.3f}"
        lines.append(
            f"| {question} | {alpha} | {entry['level_of_measurement']} | {entry['n_rois']} | {entry['n_annotators']} |"
        )
    counts = summary.get("type_counts", {})
    if counts:
        lines += ["", "### Distortions (multi-label: an ROI counts under each type it carries)\n"]
        lines += ["| distortion | ROIs |", "|---|---|"]
        lines += [f"| {t} | {n} |" for t, n in counts.items()] + [
            f"| none (clean) | {summary['clean_rois']} |"
        ]
    lines += [
        "",
        "### Reading SEAGULL-3k shards\n",
        "One sample per authentic image (`<image_id>_authentic_00`, dist_type `authentic`, `split` "
        "train/test; no reference image): `roi_dataset('seagull3k-test-*.tar')` with the default "
        "references='skip'. Each ROI's `distortions` lists every distortion it carries.",
    ]
    if summary["excluded"]:
        lines += ["", "### ROIs left out\n", "| task | ratings | reason |", "|---|---|---|"]
        lines += [f"| {e['task_id']} | {e['n_ratings']} | {e['reason']} |" for e in summary["excluded"]]
    return "\n".join(lines) + "\n"
