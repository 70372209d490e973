"""Entity-level precision, recall and F1 for sequence tagging (NER and POS) from the `seqeval` package, called exactly
as XTREME's run_tag.py (which the release used for WikiANN and UD POS) calls it: `seqeval.metrics.f1_score(gold,
predicted)` in its default mode, so the figures compare with the paper's. Plus seqeval's token accuracy.

A local `evaluate` module: `evaluate.load("metrics/seqeval_f1")` works offline, unlike `evaluate.load("seqeval")`,
which fetches its script from the Hub.
"""

import warnings

import datasets
import evaluate
from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score

_DESCRIPTION = """seqeval's micro-averaged entity-level precision / recall / F1 (default mode, as run_tag.py calls it),
and token accuracy. For POS tags (no B-/I- prefix) this is what the release reports as POS F1."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[list[str]]`): predicted tag sequences.
    references (`list[list[str]]`): gold tag sequences, same lengths.
Returns:
    precision, recall, f1 (entity-level, micro-averaged over types), accuracy (token-level), all in [0, 1].
Example:
    >>> metric = evaluate.load("metrics/seqeval_f1")
    >>> metric.compute(predictions=[["B-PER", "I-PER", "O"]], references=[["B-PER", "I-PER", "O"]])["f1"]
    1.0
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SeqevalF1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("string")),
                    "references": datasets.Sequence(datasets.Value("string")),
                }
            ),
        )

    def _compute(self, predictions, references):
        for number, (pred, ref) in enumerate(zip(predictions, references)):
            if len(pred) != len(ref):
                raise ValueError(f"Sequence {number}: {len(pred)} predicted tags for {len(ref)} reference tags.")
        with warnings.catch_warnings():
            # POS tags have no B-/I- prefix: seqeval warns once per tag ("NOUN seems not to be NE tag") and scores
            # them the way the release's figures were scored; the warning says nothing the user can act on.
            warnings.filterwarnings("ignore", message=".*seems not to be NE tag")
            return self._scores(predictions, references)

    @staticmethod
    def _scores(predictions, references):
        return {
            "precision": float(precision_score(references, predictions)),
            "recall": float(recall_score(references, predictions)),
            "f1": float(f1_score(references, predictions)),
            "accuracy": float(accuracy_score(references, predictions)),
        }
