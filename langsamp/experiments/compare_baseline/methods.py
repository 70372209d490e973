"""The report's account of how its figures were made, every number from what made them: the pretraining as each run
recorded it (recorded.py), the evaluations from their settings and from the data they scored (the same UDHR
calls as evaluations.py), so that --train_args, --probe_folds 0 or a language without a full UDHR cannot make the
text disagree with the tables."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from langsamp import evaluation as ev
from langsamp.command_name import command_line
from langsamp.experiments.compare_baseline.evaluations import evaluated_layers, probe_layers
from langsamp.experiments.compare_baseline.recorded import RecordedRun, read_run
from langsamp.experiments.compare_baseline.settings import COLUMNS
from langsamp.experiments.compare_baseline.statistics import best_layer

SOURCE = "eng_Latn"  # the retrieval queries' and the fine-tuning's language


def counted(number: float, noun: str) -> str:
    """`1 language`, `2 languages`, `0.5 epochs`."""
    return f"{number:g} {noun}" if number == 1 else f"{number:g} {noun}s"


def describe_runs(
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    timings: dict[str, int],
    rows: list[dict],
    runs: dict[tuple[str, int], Path],
) -> str:
    """How the figures were made: one paragraph."""
    config = json.loads((runs[("langsamp", args.seeds[0])] / "config.json").read_text())
    command = f"{command_line('compare_baseline.py')} {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip()
    data = evaluation_data(args)
    return " ".join(
        [
            f"Made by `{command}` on {os.cpu_count()} CPU cores, {timings['total_s'] / 60:.0f} min of pretraining and "
            f"evaluation in all. Start: `{args.model}` ({config['num_hidden_layers']} layers x "
            f"{config['hidden_size']}).",
            pretraining_text([read_run(path) for path in runs.values()], args),
            f"Cells: mean ± sd over the {len(args.seeds)} seeds (start: over fine-tuning seeds only).",
            retrieval_text(rows, data),
            neutrality_text(args, data),
            topics_text(args, data),
            masked_lm_text(args, data),
            "'Exceeds seed spread': paired t-test p < 0.05 over seeds and |difference| larger than either variant's "
            "sd.",
        ]
    )


def joined(records: list[RecordedRun], name: str, form: str = "{}") -> str | None:
    """The runs' values of `name`, each once (`2` or `2/3`); None when a run did not record it."""
    values = [getattr(record, name) for record in records]
    if not values or None in values:
        return None
    return "/".join(form.format(value) for value in sorted(set(values)))


def pretraining_text(records: list[RecordedRun], args: argparse.Namespace) -> str:
    """The pretraining as the runs recorded it: languages, steps, chunks a step and their length, learning rates;
    what a run did not record is named as such."""
    languages = joined(records, "languages") or str(len(args.languages))  # unrecorded: the corpus they were given
    steps, batch, tokens = (joined(records, name) for name in ("steps", "batch", "tokens"))
    size = f"{steps or '?'} steps" + (f" of {batch} x {tokens} tokens" if batch and tokens else "")
    schedule, unknown = _schedule(records)
    unknown = [name for name, value in (("steps", steps), ("chunks a step", batch), ("chunk length", tokens))
               if value is None] + unknown  # fmt: skip
    details = [*_batch_details(records), *schedule]
    if unknown:
        details.append(f"not recorded by the runs: {', '.join(unknown)}")
    return (
        f"Pretraining: {languages} UDHR languages (articles {_articles(ev.UDHR_HELDOUT_ARTICLES)} held out), {size} "
        f"per run ({'; '.join(details)}), seeds {', '.join(map(str, args.seeds))} (per seed, baseline and LangSAMP "
        "see the same chunks, masks and initial weights)."
    )


def _batch_details(records):
    """How a step's chunks were made up, when not all on one device in one pass."""
    if any(record.batch is None or record.batch == record.per_device for record in records):
        return []
    per_device, accumulation, devices = (joined(records, name) for name in ("per_device", "accumulation", "devices"))
    plural = lambda value: "" if value == "1" else "s"  # noqa: E731
    return [
        f"{per_device} a device x {accumulation} accumulation step{plural(accumulation)} x {devices} "
        f"device{plural(devices)}"
    ]


def _schedule(records):
    """The learning rates (the head warm-up's, if the runs had one, and the full stage's peak), and what of them the
    runs did not record: ([text], [unrecorded])."""
    peak = joined(records, "learning_rate", "{:g}")
    warmup_steps = joined(records, "head_warmup_steps")
    unknown = [name for name, value in (("learning rate", peak), ("head warm-up", warmup_steps)) if value is None]
    if warmup_steps not in (None, "0"):
        warmup_rate = joined(records, "head_warmup_learning_rate", "{:g}") or "?"
        return [
            f"the first {warmup_steps} train only the LM head and the tables at {warmup_rate}, the rest everything at "
            f"a peak {peak or '?'}"
        ], unknown
    return ([f"peak lr {peak}"] if peak else []), unknown


def _articles(numbers):
    """`26-30` for a run of articles, else `3, 7`."""
    numbers = sorted(numbers)
    if len(numbers) > 1 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    return ", ".join(map(str, numbers))


def evaluation_data(args: argparse.Namespace) -> dict:
    """What the evaluations scored, from the same UDHR calls as evaluations.py: the languages with a full parallel
    UDHR and its units, the topic task's classes and majority-class figures, the held-out paragraphs a language."""
    translations = ev.udhr_translations(args.languages)
    parallel = {
        label: units for label, units in ev.udhr_parallel_corpus(translations).items() if label in args.languages
    }
    classes, majority = majority_class(translations, args.languages)
    heldout = [
        [text for text in texts if text.strip()]
        for label, texts in ev.udhr_heldout_texts(translations).items()
        if label in args.languages
    ]
    counts = [min(len(texts), args.mlm_sentences) for texts in heldout]  # masked_lm_quality's max_sentences
    return {
        "parallel": list(parallel),
        "units": len(parallel[SOURCE]),
        "left_out": [label for label in args.languages if label not in parallel],
        "classes": classes,
        "majority": majority,
        "mlm_paragraphs": (min(counts, default=0), max(counts, default=0)),
        "mlm_languages": len(heldout),
    }


def majority_class(translations: dict, languages: list[str]) -> tuple[int, dict[str, float]]:
    """(the topic task's classes, {"accuracy", "macro_f1", "targets"}) of always answering the English training
    set's most frequent class, scored as metrics/accuracy_f1 scores the fine-tuned model (scikit-learn, macro-F1 over
    the classes present) and averaged over the target languages, as the zero-shot average is (in %)."""
    from sklearn.metrics import accuracy_score, f1_score

    train, tests, names = ev.udhr_topic_classification(translations, source=SOURCE, languages=languages)
    answer = Counter(train["label"]).most_common(1)[0][0]
    golds = [test["label"] for label, test in tests.items() if label != SOURCE]
    accuracy = [accuracy_score(gold, [answer] * len(gold)) for gold in golds]
    macro_f1 = [f1_score(gold, [answer] * len(gold), average="macro", zero_division=0) for gold in golds]
    return len(names), {"accuracy": 100 * np.mean(accuracy), "macro_f1": 100 * np.mean(macro_f1), "targets": len(golds)}


def retrieval_text(rows: list[dict], data: dict) -> str:
    """The retrieval's languages, units, chance and best layers."""
    units, targets = data["units"], len(data["parallel"]) - 1
    chance = ", ".join(f"top-{k} {min(100.0, 100 * k / units):.{1 if k == 1 else 0}f}%" for k in ev.RETRIEVAL_TOP_K)
    left_out = f" ({', '.join(data['left_out'])}: no complete UDHR, left out)" if data["left_out"] else ""
    best = {column: best_layer(rows, column) for column in COLUMNS}
    return (
        f"Retrieval: English queries against {counted(targets, 'language')}{left_out}, {units} UDHR units each "
        f"(chance: {chance}); best top-1 layer: start {best['start']}, baseline {best['baseline']}, LangSAMP "
        f"{best['langsamp']} (every layer in results.json)."
    )


def neutrality_text(args: argparse.Namespace, data: dict) -> str:
    """The neutrality measures, the language-ID probe's folds and layers (or that it was off)."""
    cosine = (
        "Neutrality: cosine of parallel UDHR units' mean-pooled states, mean over language pairs (and minus the same "
        "for non-parallel units)"
    )
    if not args.probe_folds:
        return f"{cosine}; no language-ID probe (--probe_folds 0)."
    layers = ", ".join(map(str, probe_layers(evaluated_layers(args.model, args.layers))))
    return (
        f"{cosine}; language-ID probe: {args.probe_folds}-fold logistic regression at layers {layers} (0: the "
        f"embeddings; chance {100 / len(data['parallel']):.1f}%)."
    )


def topics_text(args: argparse.Namespace, data: dict) -> str:
    """The topic task: classes, fine-tuning, targets and the majority-class figures."""
    majority = data["majority"]
    return (
        f"Topics: {data['classes']} classes, fine-tuned on English ({counted(args.classify_epochs, 'epoch')} at "
        f"{args.classify_learning_rate:g}, batch {args.classify_batch_size}), zero-shot on the "
        f"{counted(majority['targets'], 'other')} (majority-class accuracy {majority['accuracy']:.1f}%, macro-F1 "
        f"{majority['macro_f1']:.1f}%)."
    )


def masked_lm_text(args: argparse.Namespace, data: dict) -> str:
    """The masked-LM figures' text, paragraphs and mask draws; the start's untrained head where its config says so."""
    fewest, most = data["mlm_paragraphs"]
    paragraphs = str(most) if fewest == most else f"{fewest}-{most}"
    untrained = ev.checkpoint_config(args.model).get("lm_head_trained") is False
    note = " (the start's LM head is untrained: its perplexity shows that)" if untrained else ""
    return (
        f"Masked LM: held-out articles {_articles(ev.UDHR_HELDOUT_ARTICLES)}, {paragraphs} "
        f"paragraph{'' if paragraphs == '1' else 's'} a language in {counted(data['mlm_languages'], 'language')}, "
        f"{counted(args.mask_rounds, 'mask draw')}{note}."
    )
