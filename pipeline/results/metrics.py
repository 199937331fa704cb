"""GLUE dev metrics (docs/glue.md): names as in `Task.metrics`.

scikit-learn and SciPy are imported only by the metrics that need them: importing
`sklearn.metrics` costs 1.2 s, paid by every stage process that evaluates (about a hundred
of them in the demo), while accuracy needs nothing but numpy.
"""

from __future__ import annotations

import numpy as np

from pipeline.glue.tasks import Task


def predictions_from_logits(task: Task, logits: np.ndarray) -> np.ndarray:
    """Label indices, or the scores themselves for a regression task."""
    return logits[:, 0] if task.is_regression else logits.argmax(-1)


def _accuracy(predictions, labels) -> float:
    return float(np.mean(predictions == labels))


def _f1(predictions, labels) -> float:
    from sklearn.metrics import f1_score

    return f1_score(labels, predictions, zero_division=0.0)  # positive class: duplicate / equivalent


def _mcc(predictions, labels) -> float:
    from sklearn.metrics import matthews_corrcoef

    return matthews_corrcoef(labels, predictions)


def _pearson(predictions, labels) -> float:
    from scipy.stats import pearsonr

    return pearsonr(predictions, labels).statistic


def _spearman(predictions, labels) -> float:
    from scipy.stats import spearmanr

    return spearmanr(predictions, labels).statistic


SCORERS = {"accuracy": _accuracy, "f1": _f1, "mcc": _mcc, "pearson": _pearson, "spearman": _spearman}


def compute_metrics(task: Task, predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if task.is_regression and np.ptp(predictions) == 0:
        # A constant prediction has no correlation; report 0 rather than SciPy's NaN and warning.
        return {name: 0.0 for name in task.metrics}
    return {name: float(SCORERS[name](predictions, labels)) for name in task.metrics}


def majority_label(labels) -> int | float:
    """The most frequent training label (the mean score for regression): the trivial baseline."""
    labels = np.asarray(labels)
    if labels.dtype.kind == "f":
        return float(labels.mean())
    values, counts = np.unique(labels, return_counts=True)
    return int(values[counts.argmax()])
