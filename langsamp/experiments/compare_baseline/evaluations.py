"""The comparison's evaluations of each checkpoint (the start, the baseline and LangSAMP runs, seed by seed): UDHR
retrieval and language neutrality at every layer, zero-shot UDHR topics, held-out masked-LM figures and, for
LangSAMP, its language table against URIEL beside a random table. Each is saved as it finishes and reused."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from langsamp import evaluation as ev
from langsamp.evaluation.uriel_similarity import KINDS, table_vs_uriel, uriel_features
from langsamp.experiments.compare_baseline.runs import cached_evaluation, evaluation_file, int_keys
from langsamp.experiments.compare_baseline.settings import COLUMNS, EVALUATION_SETTINGS, settings_of
from langsamp.experiments.compare_baseline.statistics import figures

SEED_FREE = ("retrieval", "neutrality", "mlm")  # the start's figures that do not depend on the fine-tuning seed


def evaluate_run(
    checkpoint: str | Path,
    languages: list[str],
    translations: dict,
    args: argparse.Namespace,
    classify_seed: int,
    reuse: dict | None = None,
    uriel: bool = False,
) -> dict:
    """All evaluations of one checkpoint: {name: result}. `reuse`: results that do not depend on the seed, already
    computed for this checkpoint (the starting encoder's retrieval, neutrality and masked LM). `uriel`: also the
    language table against URIEL, beside the same statistic on a random table (LangSAMP checkpoints only)."""
    results = dict(reuse or {})
    tokenizer = ev.load_tokenizer(checkpoint)
    if "retrieval" not in results or "neutrality" not in results:
        results.update(_encoder_evaluations(checkpoint, tokenizer, languages, translations, args))
    clock = time.perf_counter()
    train, tests, labels = ev.udhr_topic_classification(translations, source="eng_Latn", languages=languages)
    results["classification"] = ev.zero_shot_transfer(
        checkpoint, tokenizer, train, tests, label_names=labels, source="eng_Latn",
        num_train_epochs=args.classify_epochs, learning_rate=args.classify_learning_rate,
        batch_size=args.classify_batch_size, max_length=args.max_length, seed=classify_seed, warmup_steps=0.1,
        disable_tqdm=True, logging_strategy="no",
    )  # fmt: skip
    print(f"  topic classification (fine-tuning seed {classify_seed}): {time.perf_counter() - clock:.0f} s", flush=True)
    if "mlm" not in results:
        clock = time.perf_counter()
        heldout = {label: texts for label, texts in ev.udhr_heldout_texts(translations).items() if label in languages}
        results["mlm"] = ev.masked_lm_quality(
            checkpoint, tokenizer, heldout, max_sentences=args.mlm_sentences, max_length=args.max_length,
            mask_rounds=args.mask_rounds, pseudo_perplexity=False,
        )  # fmt: skip
        print(f"  masked LM: {time.perf_counter() - clock:.0f} s", flush=True)
    if uriel:
        clock = time.perf_counter()
        results["uriel"] = table_against_uriel(checkpoint, languages, classify_seed)
        print(f"  language table vs URIEL (and a random table): {time.perf_counter() - clock:.0f} s", flush=True)
    return results


def _encoder_evaluations(checkpoint, tokenizer, languages, translations, args):
    """UDHR retrieval at every layer of `args.layers` (default all) and language neutrality there and at the
    embeddings, from one load of the encoder."""
    layers = evaluated_layers(checkpoint, args.layers)
    encoder = ev.load_model(checkpoint, "encoder")
    corpus = {label: units for label, units in ev.udhr_parallel_corpus(translations).items() if label in languages}
    clock = time.perf_counter()
    retrieval = ev.sentence_retrieval(
        encoder, tokenizer, corpus, source="eng_Latn", layer=layers, max_length=args.max_length
    )
    print(f"  retrieval at layers {layers[0]}-{layers[-1]}: {time.perf_counter() - clock:.0f} s", flush=True)
    clock = time.perf_counter()
    neutrality = ev.language_neutrality(
        encoder, tokenizer, corpus, layers=[0, *layers], probe_folds=args.probe_folds or None,
        max_length=args.max_length, probe_layers=set(probe_layers(layers)),
    )  # fmt: skip
    print(f"  neutrality at layers 0-{layers[-1]}: {time.perf_counter() - clock:.0f} s", flush=True)
    return {"retrieval": retrieval, "neutrality": neutrality}


def evaluated_layers(checkpoint: str | Path, layers: list[int] | None) -> list[int]:
    """The layers retrieval and neutrality are measured at: `layers` (--layers), or every layer of `checkpoint`."""
    return list(layers or range(1, ev.checkpoint_config(checkpoint)["num_hidden_layers"] + 1))


def probe_layers(layers: list[int]) -> list[int]:
    """Where the language-ID probe runs (~10 s a layer for 41 languages): the embeddings, a third and two thirds of
    the deepest evaluated layer, and that layer."""
    depth = max(layers)
    return sorted({0, depth // 3, 2 * depth // 3, depth})


def uriel_unavailable(languages: list[str]) -> str | None:
    """Why the URIEL correlation cannot be computed for these languages (a rank correlation needs 4 languages URIEL
    knows), or None. Checked before any work."""
    codes = list(dict.fromkeys(label.split("_")[0] for label in languages))
    for kind in KINDS:
        try:
            found, _ = uriel_features(codes, kind)
        except ImportError as error:
            return str(error).rstrip(".")
        if len(found) < 4:
            known = ", ".join(found) or "none"
            return f"URIEL knows {len(found)} of these languages for {kind} similarity ({known}); it needs 4"
    return None


def table_against_uriel(checkpoint: str | Path, languages: list[str], seed: int) -> dict:
    """The URIEL rank correlation of a LangSAMP checkpoint's language table, and the same statistic on a random
    N(0, 0.02) table of the same shape (the tables' initialisation): {"table": ..., "random_table": ...}."""
    import torch

    model = ev.load_model(checkpoint, "masked-lm")
    learned = table_vs_uriel(model, languages)
    table = model.language_script_embeddings.language_embeddings.weight
    with torch.no_grad():
        table.normal_(0.0, 0.02, generator=torch.Generator().manual_seed(seed))
    return {"table": learned, "random_table": table_vs_uriel(model, languages)}


def evaluate_all(
    runs: dict[tuple[str, int], Path],
    args: argparse.Namespace,
    output: Path,
    translations: dict,
    timings: dict[str, int],
    uriel: bool,
) -> tuple[dict[str, list[dict]], dict[tuple[str, int], dict]]:
    """Every checkpoint of every seed, the saved ones read back: ({column: [figures per seed]}, {(column, seed):
    result}); the seconds each took go into `timings`.

    The same fine-tuning seed for a pretraining seed's two runs (identical fine-tuning data order and head init); the
    starting encoder is fine-tuned once per seed too, so its column has a spread from fine-tuning alone. Every
    evaluation is saved as it finishes (evaluations/), so a re-run with the same settings skips it."""
    settings = json.loads(json.dumps(settings_of(args, EVALUATION_SETTINGS)))
    evaluated = {column: [] for column in COLUMNS}
    raw = {}
    for index, seed in enumerate(args.seeds):
        for column in COLUMNS:
            cached = cached_evaluation(output, column, seed, settings)
            if cached:
                print(f"[{column}, seed {seed}] evaluated before: {evaluation_file(output, column, seed)}", flush=True)
                result, seconds = int_keys(cached["result"]), cached["seconds"]
            else:
                result, seconds = _evaluate(column, seed, index, runs, args, output, translations, raw, uriel)
                saved = {"settings": settings, "seconds": seconds, "result": result}
                ev.write_json(json.loads(json.dumps(saved, default=str)), evaluation_file(output, column, seed))
            raw[(column, seed)] = result
            evaluated[column].append(figures(result))
            timings[f"evaluate_{column}_seed{seed}_s"] = seconds
    return evaluated, raw


def _evaluate(column, seed, index, runs, args, output, translations, raw, uriel):
    """One checkpoint's evaluations, timed: (result, seconds)."""
    checkpoint = args.model if column == "start" else runs[(column, seed)]
    started = time.perf_counter()
    print(f"[{column}, seed {seed}] evaluating {checkpoint}", flush=True)
    # The start's retrieval, neutrality and masked LM do not depend on the seed: computed once.
    first = raw.get(("start", args.seeds[0])) if column == "start" else None
    reuse = {key: first[key] for key in SEED_FREE} if first else None
    result = evaluate_run(checkpoint, args.languages, translations, args, classify_seed=index, reuse=reuse,
                          uriel=column == "langsamp" and uriel)  # fmt: skip
    return result, round(time.perf_counter() - started)
