"""The labels stage: quality, importance, distortion and severity of every (variant, ROI).

Public API: `create_metric`, `list_metrics`, `DEFAULT_METRIC`, `label_reference`, `LabelConfig`,
`ROILabel`. See docs/labels.md.

Importing this package and listing the metrics does not import torch or pyiqa (`seagull build`
checks `--metric` with it); `create_metric` imports them and the builder modules (topiq_fr).
"""

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
