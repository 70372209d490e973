"""Accuracy and macro-F1 for single-label classification (Taxi1500 and SIB-200 report macro-F1).

A local `evaluate` module: `evaluate.load("metrics/accuracy_f1")` works offline, unlike
`evaluate.load("accuracy")`, which fetches its script from the Hub.
"""

import datasets
import evaluate
from sklearn.metrics import accuracy_score, f1_score

_DESCRIPTION = """Accuracy and macro-averaged F1 of integer class predictions. Macro-F1 averages the per-class F1
over the classes that occur in the references or the predictions (scikit-learn's default), or over `labels`
when given, so a class that is never predicted counts as F1 = 0."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[int]`): predicted class ids.
    references (`list[int]`): gold class ids.
    labels (`list[int]`, optional): the classes macro-F1 averages over; default: those seen in either list.
Returns:
    accuracy (`float`), macro_f1 (`float`), both in [0, 1].
Example:
    >>> metric = evaluate.load("metrics/accuracy_f1")
    >>> metric.compute(predictions=[0, 1, 1], references=[0, 1, 0])
    {'accuracy': 0.6666666666666666, 'macro_f1': 0.6666666666666666}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class AccuracyF1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, labels=None):
        return {
            "accuracy": float(accuracy_score(references, predictions)),
            "macro_f1": float(f1_score(references, predictions, labels=labels, average="macro", zero_division=0)),
        }
