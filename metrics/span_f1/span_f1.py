"""Entity-level (seqeval / conlleval style) precision, recall and F1 for sequence tagging, offline.

The `seqeval` package (what the Hub's `seqeval` metric wraps) is not installed here; this module computes
the same figures as seqeval's default mode for IOB1/IOB2/IOE/IOBES-style tags: a span starts at `B-`/`S-`
or at a type change, and continues over `I-`/`E-` tokens of the same type. Tags without a prefix (POS tags
such as `NOUN`) are one-token spans of their own type, so for POS tagging F1 equals token accuracy over the
non-`O` tokens.
"""

import datasets
import evaluate

_DESCRIPTION = "Micro-averaged entity-level precision / recall / F1 (seqeval-style), plus token accuracy."

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[list[str]]`): predicted tag sequences.
    references (`list[list[str]]`): gold tag sequences, same lengths.
Returns:
    precision, recall, f1 (entity-level, micro-averaged over types), accuracy (token-level), all in [0, 1].
Example:
    >>> metric = evaluate.load("metrics/span_f1")
    >>> metric.compute(predictions=[["B-PER", "I-PER", "O"]], references=[["B-PER", "I-PER", "O"]])["f1"]
    1.0
"""

PREFIXES = ("B", "I", "E", "S", "L", "U")


def _split(tag):
    if tag in ("O", "", None):
        return "O", None
    prefix, dash, kind = tag.partition("-")
    if dash and prefix in PREFIXES:
        return prefix, kind
    return "S", tag  # an unprefixed tag is a single-token span of its own type


def spans(tags):
    """The (type, start, end) spans of one tag sequence, as seqeval's default (non-strict) mode reads them."""
    found, start, kind = [], None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, this = _split(tag)
        # Close the open span on O, on a new span start (B/S/U), or on a type change.
        if start is not None and (prefix in ("O", "B", "S", "U") or this != kind):
            found.append((kind, start, i - 1))
            start = None
        if prefix in ("B", "S", "U") or (prefix in ("I", "E", "L") and start is None):
            start, kind = i, this
        if start is not None and prefix in ("E", "L", "S", "U"):
            found.append((kind, start, i))
            start = None
    return found


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SpanF1(evaluate.Metric):
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
        predicted = gold = correct = tokens = right = 0
        for number, (pred, ref) in enumerate(zip(predictions, references)):
            if len(pred) != len(ref):
                raise ValueError(f"Sequence {number}: {len(pred)} predicted tags for {len(ref)} reference tags.")
            pred_spans, gold_spans = set(spans(pred)), set(spans(ref))
            predicted += len(pred_spans)
            gold += len(gold_spans)
            correct += len(pred_spans & gold_spans)
            tokens += len(ref)
            right += sum(p == r for p, r in zip(pred, ref))
        precision = correct / predicted if predicted else 0.0
        recall = correct / gold if gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "accuracy": right / tokens if tokens else 0.0}
