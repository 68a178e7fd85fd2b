"""Fairness audits of population and personal models (fairlearn ``MetricFrame``).

``audit_classifier`` breaks a population model's AUC, true-positive rate,
false-positive rate and selection rate down by group (sex × age band, and any
other consented attribute passed in); ``audit_errors`` does the same for the
absolute error of personal models. Each metric gets its between-group
difference and ratio; ``FairnessGate`` holds the thresholds and refuses to
deploy a model that crosses one (``FairnessGateError``, one sentence).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from pydantic import BaseModel, Field

from lifetwin.population.errors import PopulationError
from lifetwin.population.model import roc_auc

F64 = npt.NDArray[np.float64]


class FairnessGateError(PopulationError):
    """A model whose disparities across groups are beyond the deploy thresholds."""


class MetricDisparity(BaseModel):
    metric: str
    overall: float
    by_group: dict[str, float]
    difference: float  # largest minus smallest group value
    ratio: float  # smallest over largest (1 = equal)


class FairnessReport(BaseModel):
    """Per-group metrics of one model; groups smaller than ``min_group`` are left out."""

    model: str
    groups: list[str]
    group_sizes: dict[str, int]
    metrics: list[MetricDisparity]
    min_group: int
    passed: bool | None = None
    reasons: list[str] = Field(default_factory=list)

    def metric(self, name: str) -> MetricDisparity:
        return next(m for m in self.metrics if m.metric == name)


class FairnessGate(BaseModel):
    """Deploy thresholds: the largest allowed difference (and smallest ratio) per metric."""

    max_difference: dict[str, float] = Field(
        default_factory=lambda: {"auc": 0.10, "tpr": 0.15, "fpr": 0.15}
    )  # an error metric (mae) has units: give its limit when auditing errors
    min_ratio: dict[str, float] = Field(default_factory=lambda: {"auc": 0.85, "tpr": 0.7})

    def check(self, report: FairnessReport) -> FairnessReport:
        """The report with the gate's verdict filled in."""
        reasons = []
        for m in report.metrics:
            limit = self.max_difference.get(m.metric)
            if limit is not None and m.difference > limit:
                reasons.append(
                    f"{m.metric} differs by {m.difference:.3f} across groups (limit {limit:g})"
                )
            floor = self.min_ratio.get(m.metric)
            if floor is not None and m.ratio < floor:
                reasons.append(f"{m.metric} ratio across groups is {m.ratio:.3f} (floor {floor:g})")
        return report.model_copy(update={"passed": not reasons, "reasons": reasons})

    def require(self, report: FairnessReport) -> FairnessReport:
        """The checked report, or a refusal to deploy naming the first reason."""
        checked = self.check(report)
        if not checked.passed:
            raise FairnessGateError(
                f"The model {report.model} was not deployed: {checked.reasons[0]}."
            )
        return checked


def group_labels(attributes: Mapping[str, Sequence[str]]) -> list[str]:
    """One label per row joining the attributes (``female × 40-49``).

    >>> group_labels({"sex": ["female", "male"], "age_band": ["40-49", "20-29"]})
    ['female × 40-49', 'male × 20-29']
    """
    columns = list(attributes.values())
    return [" × ".join(str(c[i]) for c in columns) for i in range(len(columns[0]))]


def _auc(y_true: F64, y_score: F64) -> float:
    return roc_auc(np.asarray(y_true, dtype=np.float64), np.asarray(y_score, dtype=np.float64))


def _disparities(frame: MetricFrame, keep: list[str]) -> list[MetricDisparity]:
    out = []
    by_group = frame.by_group.loc[keep]
    for name in by_group.columns:
        values = by_group[name].astype(float).dropna()
        if values.empty:
            continue
        hi, lo = float(values.max()), float(values.min())
        out.append(
            MetricDisparity(
                metric=str(name),
                overall=float(frame.overall[name]),
                by_group={str(k): float(v) for k, v in values.items()},
                difference=hi - lo,
                ratio=lo / hi if hi > 0 else 1.0,
            )
        )
    return out


def audit_classifier(
    model: str,
    y_true: F64,
    y_score: F64,
    attributes: Mapping[str, Sequence[str]],
    *,
    threshold: float = 0.5,
    min_group: int = 30,
) -> FairnessReport:
    """Per-group AUC, TPR, FPR and selection rate of a risk model."""
    groups = pd.Series(group_labels(attributes), name="group")
    sizes = groups.value_counts()
    keep = sorted(str(g) for g, n in sizes.items() if n >= min_group)
    y_pred = (np.asarray(y_score) >= threshold).astype(int)
    y = np.asarray(y_true).astype(int)
    frame = MetricFrame(
        metrics={
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "selection_rate": selection_rate,
        },
        y_true=y,
        y_pred=y_pred,
        sensitive_features=groups,
    )
    scores = MetricFrame(
        metrics={"auc": _auc}, y_true=y, y_pred=np.asarray(y_score), sensitive_features=groups
    )
    metrics = _disparities(scores, keep) + _disparities(frame, keep)
    return FairnessReport(
        model=model,
        groups=keep,
        group_sizes={str(g): int(n) for g, n in sizes.items()},
        metrics=metrics,
        min_group=min_group,
    )


def audit_errors(
    model: str,
    y_true: F64,
    y_pred: F64,
    attributes: Mapping[str, Sequence[str]],
    *,
    min_group: int = 30,
) -> FairnessReport:
    """Per-group mean absolute error of personal models (one row per person-day)."""
    groups = pd.Series(group_labels(attributes), name="group")
    sizes = groups.value_counts()
    keep = sorted(str(g) for g, n in sizes.items() if n >= min_group)

    def mae(a: F64, b: F64) -> float:
        return float(np.mean(np.abs(np.asarray(a) - np.asarray(b))))

    frame = MetricFrame(
        metrics={"mae": mae},
        y_true=np.asarray(y_true),
        y_pred=np.asarray(y_pred),
        sensitive_features=groups,
    )
    return FairnessReport(
        model=model,
        groups=keep,
        group_sizes={str(g): int(n) for g, n in sizes.items()},
        metrics=_disparities(frame, keep),
        min_group=min_group,
    )
