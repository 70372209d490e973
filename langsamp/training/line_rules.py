"""The lines a training run drops from its corpus (--dedup, --exclude_eval), resolved from its arguments."""

from __future__ import annotations

from collections.abc import Sequence

from langsamp.data import LineRules, SentenceIndex
from langsamp.training.arguments import DataArguments


def line_rules(data_args: DataArguments, labels: Sequence[str]) -> LineRules | None:
    """The lines the build drops (--dedup, --exclude_eval): each evaluation set read now, so one that cannot be read
    or shares no pair with the corpus is refused before any data or model work."""
    if data_args.dedup is None and not data_args.exclude_eval:
        return None
    from langsamp.evaluation.overlap import common_pairs, evaluation_sentences

    sentences: dict[str, list[str]] = {}
    for spec in data_args.exclude_eval or []:
        name, _, folder = spec.partition("=")
        try:
            found = evaluation_sentences(name, folder or None)
        except ValueError as error:  # the evaluation CLI's flags, said as train.py takes them
            said = str(error).replace("--dataset DIR", f"--exclude_eval {name}=DIR")
            raise ValueError(said.replace("--token or HF_TOKEN", "HF_TOKEN")) from error
        if labels:
            common_pairs(labels, found, f"--exclude_eval {spec}")
        for label, texts in found.items():
            sentences.setdefault(label, []).extend(texts)
    wanted = set(labels) if labels else set(sentences)
    exclude = {label: SentenceIndex(texts) for label, texts in sentences.items() if label in wanted}
    return LineRules(data_args.dedup, exclude, tuple(data_args.exclude_eval or ()), data_args.dedup_bloom_mb)
