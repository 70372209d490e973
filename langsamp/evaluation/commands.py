"""What each `langsamp-eval` command does once its flags are parsed (cli.py): it calls the functions of
langsamp/evaluation/ and prints (and writes) their results."""

from __future__ import annotations

from pathlib import Path

from langsamp.evaluation.arguments import check_model, check_model_specs
from langsamp.evaluation.benchmark import check_benchmark, run_benchmark
from langsamp.evaluation.corpora import read_corpus, read_parallel_corpus
from langsamp.evaluation.embedding_analysis import (
    check_analysis_inputs,
    embedding_model,
    language_similarity,
    nearest_languages,
    recommend_source_languages,
)
from langsamp.evaluation.embedding_plots import plot_language_embeddings
from langsamp.evaluation.labelled_data import classification_sets, udhr_topic_note
from langsamp.evaluation.language_neutrality import (
    check_neutrality_inputs,
    language_neutrality,
    neutrality_table,
)
from langsamp.evaluation.mlm_quality import masked_lm_quality
from langsamp.evaluation.report import (
    markdown_table,
    side_by_side_table,
    write_json,
    write_model_index,
    write_result,
)
from langsamp.evaluation.retrieval import check_layer, sentence_retrieval
from langsamp.evaluation.source_selection import compare_source_languages, source_table
from langsamp.evaluation.tasks import get_task, task_settings, tasks_table
from langsamp.evaluation.transfer import zero_shot_transfer

OVERRIDES = ("learning_rate", "batch_size", "gradient_accumulation_steps", "epochs", "max_length", "seeds",
             "max_steps", "max_examples", "layer", "top_k")  # fmt: skip


def _overrides(args):
    return {key: getattr(args, key, None) for key in OVERRIDES if getattr(args, key, None) is not None}


def _write_markdown(table, path):
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(table + "\n", encoding="utf-8")


def _tasks(args):
    print(tasks_table())


def _benchmark(args):
    task = get_task(args.task)
    overrides = _overrides(args)
    task_settings(task, overrides)  # unknown settings are refused before anything loads
    models = check_model_specs(args.models)
    check_benchmark(task, models, overrides, args.model_index, args.dataset, args.token)
    results = run_benchmark(task, models, args.tokenizer, args.dataset, args.languages, args.token, **overrides)
    table = side_by_side_table(results, per_language=not args.averages_only)
    print(table)
    if args.output:
        write_json({"task": task.name, "models": models, "results": results}, args.output)
        print(f"\nwritten: {args.output}")
    if args.markdown:
        _write_markdown(table, args.markdown)
        print(f"written: {args.markdown}")
    if args.model_index is not None:
        for name in args.model_index or list(models):
            written = write_model_index(models[name], [results[name]], model_name=name, token=args.token)
            print(f"model-index written: {written}")


def _sources(args):
    result = compare_source_languages(
        check_model(args.model), args.targets, args.candidates, task=args.task, english=args.english,
        tokenizer=args.tokenizer, dataset=args.dataset, token=args.token, random_seed=args.random_seed,
        all_languages=args.all_languages, **_overrides(args),
    )  # fmt: skip
    table = source_table(result)
    print(f"Zero-shot {result['task']} ({result['metric']}, %), mean over seeds {result['settings']['seeds']}:")
    print(table)
    if args.output:
        write_json(result, args.output)
    _write_markdown(table, args.markdown)


def _retrieval(args):
    check_layer(check_model(args.model), args.layer)
    corpus = None if args.corpus == "udhr" else read_parallel_corpus(args.corpus)
    result = sentence_retrieval(
        args.model, args.tokenizer, corpus, source=args.source, languages=args.languages, layer=args.layer,
        batch_size=args.batch_size, max_length=args.max_length,
    )  # fmt: skip
    print(f"Sentence retrieval, layer {result['layer']}, queries in {result['source']}, {result['candidates']} "
          "candidates a language (accuracy, %):")  # fmt: skip
    write_result(result, args.output)


def _classify(args):
    check_model(args.model)
    train, tests, labels = classification_sets(
        args.train, args.test, args.label_names, args.languages, args.heldout_articles, args.task, args.source
    )
    result = zero_shot_transfer(
        args.model, args.tokenizer, train, tests, task=args.task, label_names=labels, text_column=args.text_column,
        label_column=args.label_column, source=args.source, num_train_epochs=args.epochs,
        max_steps=args.max_steps or -1, learning_rate=args.learning_rate, batch_size=args.batch_size,
        max_length=args.max_length, seed=args.seed,
    )  # fmt: skip
    if not args.train:
        result["note"] += udhr_topic_note(args.heldout_articles)
    source = result["source"]
    if args.train and not args.source:
        source += f" (the default: pass --source with the language of {args.train})"
    print(
        f"Zero-shot transfer from {source} ({result['train_examples']} training examples, {result['steps']} steps); %:"
    )
    if result["source_metrics"]:
        print("source: " + ", ".join(f"{k} {v * 100:.2f}" for k, v in result["source_metrics"].items()))
    write_result(result, args.output)


def _mlm(args):
    check_model(args.model)
    corpus = read_corpus(args.corpus, heldout=True)
    result = masked_lm_quality(
        args.model, args.tokenizer, corpus, languages=args.languages, mask_probability=args.mask_probability,
        mask_rounds=args.mask_rounds, pseudo_perplexity=not args.no_pseudo_perplexity,
        max_sentences=args.max_sentences, max_length=args.max_length, batch_size=args.batch_size,
    )  # fmt: skip
    print("Masked-LM quality (masked accuracy in %, perplexities):")
    write_result(result, args.output)


def _neutrality(args):
    model = check_model(args.model)
    corpus = read_corpus(args.corpus)
    settings = (args.layers, args.probe_folds or None, args.batch_size, args.max_length, args.seed)
    check_neutrality_inputs(corpus, args.languages, model, *settings)  # before loading
    result = language_neutrality(model, args.tokenizer, corpus, args.languages, *settings)
    print(f"Language neutrality, {len(result['languages'])} languages x {result['sentences']} parallel sentences:")
    print(neutrality_table(result))
    print(f"\n{result['note']}")
    if args.output:
        write_json(result, args.output)
        print(f"\nwritten: {args.output}")


def _embeddings(args):
    codes = args.nearest + args.recommend + (args.candidates or []) + (args.languages or [])
    check_analysis_inputs(check_model(args.model), codes, args.languages, args.plot_dir)  # before the weights load
    model = embedding_model(args.model)
    result = {"task": "embeddings", "nearest": {}, "recommend": {}}
    for key, rank, what in (("nearest", nearest_languages, "nearest to"),
                            ("recommend", recommend_source_languages, "source languages for")):  # fmt: skip
        for lang in getattr(args, key):
            result[key][lang] = rank(model, lang, args.k, args.candidates, all_languages=args.all_languages)
            print(f"{what} {lang}: " + ", ".join(f"{c} {s:.3f}" for c, s in result[key][lang]))
    if args.languages:
        codes, similarity = language_similarity(model, args.languages)
        result["similarity"] = {"languages": codes, "matrix": similarity.round(4).tolist()}
        if len(codes) <= 15:  # larger tables are for the JSON output and the heatmap
            print(markdown_table([""] + codes, [[c] + row for c, row in zip(codes, similarity.tolist())]))
    if args.plot_dir:
        written = plot_language_embeddings(model, args.plot_dir, args.languages, args.max_languages)
        result["plots"] = {name: str(path) for name, path in written.items()}
        print("pictures: " + ", ".join(str(p) for p in written.values()))
    if args.output:
        write_json(result, args.output)


def _corpus_stats(args):
    from langsamp.data.line_stats import corpus_pairs, count_duplicates, stats_table

    if args.bloom_mb is not None and not args.bloom_mb > 0:
        raise ValueError(f"--bloom_mb {args.bloom_mb}: give a positive size in MB (or leave it out: exact counts).")
    sources = corpus_pairs(args.corpus, args.languages, args.corpus_split)
    counts, rates = count_duplicates(sources, args.bloom_mb)
    how = f"Bloom filter of {args.bloom_mb:g} MB a pair" if args.bloom_mb else "exact"
    print(f"Duplicate lines per pair ({how}; lines normalised: NFC, white space collapsed; blank lines left out):")
    print(stats_table(counts, rates))
    if args.output:
        result = {"corpus": args.corpus, "method": how, "pairs": {k: c.to_dict() for k, c in counts.items()}}
        write_json(dict(result, bloom_false_positive_rates=rates), args.output)
        print(f"\nwritten: {args.output}")


def _overlap(args):
    from langsamp.evaluation.overlap import corpus_overlap, overlap_table

    result = corpus_overlap(
        args.corpus, args.task, args.dataset, languages=args.languages, split=args.corpus_split, token=args.token
    )
    print(f"Evaluation sentences of {args.task} in {args.corpus} (normalised exact lines, and n-grams):")
    print(overlap_table(result))
    if args.output:
        write_json({"corpus": args.corpus, "task": args.task, "dataset": args.dataset, "pairs": result}, args.output)
        print(f"\nwritten: {args.output}")


COMMANDS = {
    "tasks": _tasks,
    "benchmark": _benchmark,
    "sources": _sources,
    "retrieval": _retrieval,
    "classify": _classify,
    "mlm": _mlm,
    "neutrality": _neutrality,
    "embeddings": _embeddings,
    "corpus-stats": _corpus_stats,
    "overlap": _overlap,
}
