"""The labels stage: quality, importance, distortion and severity of every (variant, ROI).

Public API: `create_metric`, `list_metrics`, `DEFAULT_METRIC`, `label_reference`, `LabelConfig`,
`ROILabel`. See docs/labels.md.
"""

from pipeline.labels import topiq as _topiq  # noqa: F401  (registers the topiq_fr builder)
from pipeline.labels.labelling import LabelConfig, ROILabel, label_reference, labels_from_scores
from pipeline.labels.metrics import DEFAULT_METRIC, RANDOM_WEIGHTS, LabelMetric, create_metric, list_metrics
from pipeline.labels.scoring import ScoreConfig, Scores, score_reference

__all__ = [
    "DEFAULT_METRIC",
    "RANDOM_WEIGHTS",
    "LabelConfig",
    "LabelMetric",
    "ROILabel",
    "ScoreConfig",
    "Scores",
    "create_metric",
    "label_reference",
    "labels_from_scores",
    "list_metrics",
    "score_reference",
]
