"""Evaluation and analysis of LangSAMP checkpoints (and of stock XLM-R, for comparison) with the paper's protocols:
the command line, and the one import for the functions (`from langsamp.evaluation import cli as ev`).

Commands (`python langsamp_eval.py <command> --help`):

  tasks       the named tasks (sib200, taxi1500, wikiann, udpos, tatoeba, flores, udhr-retrieval, udhr-topics) and
              the release's defaults each one runs with.
  benchmark   one named task on one or several checkpoints (start, baseline, LangSAMP): per-language, head / tail
              and averaged figures, mean ± sd over seeds, one side-by-side table, JSON, markdown, and optionally
              Hub `model-index` metadata in the checkpoints' model cards.
  sources     recommend_source_languages against English and a random source on a zero-shot task, as a table.
  retrieval   SR-B / SR-T sentence retrieval on any parallel corpus (offline default: the UDHR).
  classify    zero-shot cross-lingual fine-tuning on files you bring (offline default: UDHR topics).
  mlm         masked-token accuracy, perplexity and pseudo-perplexity per language on held-out text.
  embeddings  the learned language (and script) embeddings: nearest languages, recommendations, PNG pictures.
  neutrality  language neutrality per layer: cross-language cosine of parallel sentences, language-ID probe.

Where things live (in langsamp/evaluation/): tasks.py (named tasks and their data), languages.py (language codes,
head / tail), retrieval.py, language_neutrality.py, transfer.py (fine-tuning), mlm_quality.py, embedding_analysis.py
(+ plots), source_selection.py, report.py (tables, JSON, model-index), corpora.py (UDHR and parallel corpora),
models.py (loading), arguments.py (checks of flags and parameters, before anything loads).
The language and script tables are used only by `mlm` and `embeddings`; downstream tasks use the encoder alone.
"""

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from langsamp.command_name import command_name  # noqa: E402
from langsamp.evaluation.arguments import (  # noqa: E402
    MIN_LENGTH,
    check_float,
    check_int,
    check_output_file,
    check_output_folder,
    cli_type,
)
from langsamp.evaluation.corpora import (  # noqa: E402
    DEFAULT_SOURCE,
    UDHR_HELDOUT_ARTICLES,
    UDHR_TOPIC_CLASSES,
    read_parallel_corpus,
    resolve_language,
    udhr_heldout_texts,
    udhr_parallel_corpus,
    udhr_pretraining_paragraphs,
    udhr_topic_classification,
    udhr_translations,
)
from langsamp.evaluation.embedding_analysis import (  # noqa: E402  (the public API, re-exported for `from langsamp.evaluation import cli as ev`)
    ANALYSIS_LANGUAGES,
    embedding_model,
    language_similarity,
    nearest_languages,
    plot_language_embeddings,
    recommend_source_languages,
    script_similarity,
)
from langsamp.evaluation.language_neutrality import check_neutrality_inputs, language_neutrality, neutrality_table  # noqa: E402
from langsamp.evaluation.languages import XLMR_LANGUAGES, group_averages, is_head, map_languages, model_languages  # noqa: E402
from langsamp.evaluation.mlm_quality import masked_lm_quality  # noqa: E402
from langsamp.evaluation.models import (  # noqa: E402
    checkpoint_config,
    is_langsamp_checkpoint,
    load_model,
    load_tokenizer,
    max_tokens,
    probe_hub,
)
from langsamp.evaluation.report import (  # noqa: E402
    markdown_table,
    result_table,
    side_by_side_table,
    write_json,
    write_model_index,
    write_result,
)
from langsamp.evaluation.retrieval import (  # noqa: E402
    DEFAULT_LAYER,
    RETRIEVAL_TOP_K,
    check_layer,
    retrieval_accuracy,
    sentence_embeddings,
    sentence_retrieval,
)
from langsamp.evaluation.source_selection import compare_source_languages, source_table  # noqa: E402
from langsamp.evaluation.tasks import TASKS, get_task, run_task, task_settings  # noqa: E402
from langsamp.evaluation.transfer import load_metric, zero_shot_transfer  # noqa: E402

__all__ = [
    "ANALYSIS_LANGUAGES", "language_similarity", "nearest_languages", "plot_language_embeddings",
    "recommend_source_languages", "script_similarity", "DEFAULT_SOURCE", "UDHR_HELDOUT_ARTICLES",
    "UDHR_TOPIC_CLASSES", "read_parallel_corpus", "resolve_language", "udhr_heldout_texts", "udhr_parallel_corpus",
    "udhr_pretraining_paragraphs", "udhr_topic_classification", "udhr_translations", "XLMR_LANGUAGES",
    "group_averages", "is_head", "map_languages", "checkpoint_config", "is_langsamp_checkpoint", "load_model",
    "load_tokenizer", "max_tokens", "markdown_table", "result_table", "side_by_side_table", "write_json",
    "write_model_index", "write_result", "TASKS", "get_task", "run_task", "task_settings", "masked_lm_quality",
    "DEFAULT_LAYER", "RETRIEVAL_TOP_K", "check_layer", "retrieval_accuracy", "sentence_embeddings",
    "sentence_retrieval", "language_neutrality", "neutrality_table", "compare_source_languages", "source_table", "load_metric", "zero_shot_transfer", "main",
]

logger = logging.getLogger(__name__)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage block), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _load_split(spec):
    """A classify --train / --test set: a .json/.jsonl/.csv/.tsv/.parquet file or a save_to_disk folder, with rows."""
    import datasets

    path = Path(spec)
    if path.is_dir():
        try:
            loaded = datasets.load_from_disk(str(path))
        except FileNotFoundError as error:
            raise ValueError(f"Dataset {spec!r} is a folder but not a save_to_disk dataset: pass that folder or a data file.") from error
        if isinstance(loaded, datasets.DatasetDict):
            raise ValueError(f"Dataset {spec!r} holds several splits ({', '.join(loaded)}): pass one split's folder, e.g. {path / next(iter(loaded))}.")
        dataset = loaded
    else:
        builder = {".json": "json", ".jsonl": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet"}.get(path.suffix)
        if builder is None or not path.exists():
            raise ValueError(f"Dataset {spec!r}: give an existing .json/.jsonl/.csv/.tsv/.parquet file or a save_to_disk folder.")
        if path.stat().st_size == 0:
            raise ValueError(f"Dataset {spec!r} is an empty file: it needs one example a row (with text and label columns).")
        extra = {"delimiter": "\t"} if path.suffix == ".tsv" else {}
        bars = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()  # a bar per small local file is noise on the terminal
        try:
            dataset = datasets.load_dataset(builder, data_files=str(path), split="train", **extra)
        except Exception as error:  # datasets' parse errors (DatasetGenerationError, ArrowInvalid, ...)
            cause = error.__cause__ or error
            raise ValueError(f"Dataset {spec!r} cannot be read as {builder}: {type(cause).__name__}: {' '.join(str(cause).split())[:200]}") from error
        finally:
            if bars:
                datasets.enable_progress_bars()
    if len(dataset) == 0:
        raise ValueError(f"Dataset {spec!r} holds no examples: it needs one example a row (with text and label columns).")
    return dataset


def _corpus_arg(value, heldout=False):
    if value in (None, "udhr"):
        return udhr_heldout_texts() if heldout else udhr_parallel_corpus()
    return read_parallel_corpus(value)


def _check_model(path, what="Checkpoint"):
    """A checkpoint argument: an existing folder with a config.json, or a Hub id whose config.json can be fetched (a
    small file: an unreachable Hub or a missing repo is named here, before any weights load)."""
    folder = Path(path)
    if folder.is_file():
        raise ValueError(f"{what} {path!r} is a file: pass the folder that holds config.json and the weights.")
    if folder.exists():
        if not (folder / "config.json").is_file():
            raise ValueError(f"{what} {path!r} has no config.json: pass a checkpoint folder (or a Hub model id).")
        return path
    if path.count("/") == 1 and all(part and not part.startswith(".") for part in path.split("/")):
        try:
            probe_hub(path)  # one quick request: an unreachable Hub is named at once, without the download's retries
            checkpoint_config(path)
        except OSError as error:  # offline and not cached, unreachable (ConnectionError is an OSError), no such repo, gated
            reason = " ".join(str(error).split())
            raise ValueError(
                f"{what} {path!r} is neither a local folder nor a readable Hub repo ({reason[:300]}). Pass a local checkpoint "
                "folder, or reach the Hub: check the network or HF_ENDPOINT; with HF_HUB_OFFLINE set only cached repos load; "
                "a private repo needs HF_TOKEN."
            ) from error
        return path
    raise ValueError(f"{what} {path!r} does not exist: pass a checkpoint folder or a Hub model id (owner/name).")


def _check_tokenizer(path):
    """--tokenizer: a folder with tokenizer files, or a Hub id (checked like a checkpoint)."""
    if path is None:
        return None
    folder = Path(path)
    if folder.is_file():
        raise ValueError(f"--tokenizer {path!r} is a file: pass the folder that holds it (tokenizer.json / sentencepiece.bpe.model).")
    if folder.is_dir():
        if not any((folder / name).exists() for name in ("tokenizer.json", "tokenizer_config.json", "sentencepiece.bpe.model")):
            raise ValueError(f"--tokenizer {path!r} holds no tokenizer files (tokenizer.json, tokenizer_config.json, sentencepiece.bpe.model).")
        return path
    return _check_model(path, "--tokenizer")


def _model_specs(specs):
    """['start=PATH', 'PATH', ...] -> {name: path}; a bare path is named after its last component."""
    models = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec.rstrip("/")).name or spec, spec
        if not name or not path:
            raise ValueError(f"--models {spec!r}: write NAME=PATH or PATH.")
        if name in models:
            raise ValueError(f"--models: the name {name!r} is given twice; name them NAME=PATH.")
        models[name] = _check_model(path)
    return models


def _overrides(args):
    keys = ("learning_rate", "batch_size", "gradient_accumulation_steps", "epochs", "max_length", "seeds", "max_steps",
            "max_examples", "layer", "top_k")
    return {key: getattr(args, key, None) for key in keys if getattr(args, key, None) is not None}


def build_parser():
    parser = ArgumentParser(prog=command_name("langsamp_eval.py"), description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)

    def common(p):
        p.add_argument("--model", required=True, help="checkpoint folder (LangSAMP, release format, or stock XLM-R)")
        p.add_argument("--tokenizer", default=None, help="tokenizer folder (default: the model's; else the offline XLM-R one)")
        p.add_argument("--languages", nargs="+", default=None, help="languages to evaluate (default: all of the corpus)")
        p.add_argument("--output", default=None, help="write the result as JSON here")

    def task_settings_args(p):
        g = p.add_argument_group("task settings (default: the release's value for the task; `tasks` lists them)")
        g.add_argument("--epochs", type=cli_type(check_float), default=None)
        g.add_argument("--learning-rate", type=cli_type(check_float), default=None)
        g.add_argument("--batch-size", type=cli_type(check_int), default=None)
        g.add_argument("--gradient-accumulation-steps", type=cli_type(check_int), default=None)
        g.add_argument("--max-length", type=cli_type(check_int, minimum=MIN_LENGTH, why=" (room for <s>, a token and </s>)"), default=None)
        g.add_argument("--seeds", type=cli_type(check_int, minimum=0), nargs="+", default=None, help="one fine-tuning run per seed: mean ± sd")
        g.add_argument("--max-steps", type=cli_type(check_int), default=None, help="stop each fine-tuning run after this many steps (quick looks)")
        g.add_argument("--max-examples", type=cli_type(check_int), default=None, help="use at most this many examples per split (quick looks)")
        g.add_argument("--layer", type=int, default=None, help="retrieval: hidden_states index to pool (release: 8)")
        g.add_argument("--top-k", type=cli_type(check_int), nargs="+", default=None, help="retrieval: Acc@k (release: 1 5 10)")

    sub.add_parser("tasks", help="list the named tasks and their defaults")

    p = sub.add_parser("benchmark", help="a named task on one or several checkpoints, side by side")
    p.add_argument("--task", required=True, help=f"one of {', '.join(TASKS)}")
    p.add_argument("--models", nargs="+", required=True, metavar="NAME=PATH", help="checkpoints (folders or Hub ids), e.g. start=cis-lmu/glot500-base langsamp=outputs/run")
    p.add_argument("--tokenizer", default=None, help="tokenizer for every checkpoint (default: each one's own)")
    p.add_argument("--dataset", default=None, help="the Hub dataset id (default: the task's) or a local folder laid out like it; taxi1500: the TSV folder")
    p.add_argument("--token", default=None, help="Hub token for gated datasets (flores); default: HF_TOKEN / the saved login")
    p.add_argument("--languages", nargs="+", default=None, help="the dataset's language codes to test (default: all)")
    p.add_argument("--output", default=None, help="write all results as JSON here")
    p.add_argument("--markdown", default=None, help="write the side-by-side table here")
    p.add_argument("--averages-only", action="store_true", help="the table shows only the all / head / tail averages")
    p.add_argument("--model-index", nargs="*", default=None, metavar="NAME", help="write the results into these checkpoints' model cards as Hub model-index metadata (no NAME: all)")
    task_settings_args(p)

    p = sub.add_parser("sources", help="recommended source language vs English vs a random one, zero-shot")
    p.add_argument("--model", required=True, help="a LangSAMP masked-LM checkpoint (its language table ranks the sources)")
    p.add_argument("--task", default="udhr-topics", help="a fine-tuning task (default udhr-topics, offline)")
    p.add_argument("--targets", nargs="+", required=True, help="target languages, as the task's dataset spells them")
    p.add_argument("--candidates", nargs="+", required=True, help="source languages to choose from (with training data)")
    p.add_argument("--english", default=None, help="the English baseline source (default: the task's English)")
    p.add_argument("--random-seed", type=int, default=0, help="seed of the random-source draw")
    p.add_argument("--all-languages", action="store_true", help="rank untrained languages too (when config.trained_pairs is known)")
    p.add_argument("--dataset", default=None)
    p.add_argument("--token", default=None)
    p.add_argument("--tokenizer", default=None)
    p.add_argument("--output", default=None)
    p.add_argument("--markdown", default=None)
    task_settings_args(p)

    p = sub.add_parser("retrieval", help="SR-B / SR-T sentence retrieval (top-1 / top-10)")
    common(p)
    p.add_argument("--corpus", default="udhr", help="'udhr' (default), a JSON {lang: [sentences]} or a folder of aligned per-language files")
    p.add_argument("--source", default=DEFAULT_SOURCE, help="query language (default eng)")
    p.add_argument("--layer", type=int, default=DEFAULT_LAYER, help="hidden_states index to pool (0 = embeddings; default 8)")
    p.add_argument("--batch-size", type=cli_type(check_int), default=32)
    p.add_argument("--max-length", type=cli_type(check_int, minimum=MIN_LENGTH, why=" (room for <s>, a token and </s>)"), default=512)

    p = sub.add_parser("classify", help="zero-shot cross-lingual fine-tuning (sequence or token classification)")
    common(p)
    p.add_argument("--task", choices=("sequence", "token"), default="sequence")
    p.add_argument("--train", default=None, help="training set of the source language (default: UDHR topics in English)")
    p.add_argument("--test", nargs="+", default=None, metavar="LANG=PATH", help="test sets, one per language")
    p.add_argument("--text-column", default=None)
    p.add_argument("--label-column", default=None)
    p.add_argument("--source", default=None, help="source language (default eng)")
    p.add_argument("--label-names", nargs="+", default=None, metavar="NAME", help="class names in id order, for integer labels (default: '0', '1', ...)")
    p.add_argument("--heldout-articles", type=int, nargs="+", default=None, help="UDHR topics: test only on these articles (content-disjoint)")
    p.add_argument("--epochs", type=cli_type(check_float), default=10)
    p.add_argument("--max-steps", type=cli_type(check_int), default=None, help="stop after this many steps (default: no limit, train --epochs)")
    p.add_argument("--learning-rate", type=cli_type(check_float), default=2e-5)
    p.add_argument("--batch-size", type=cli_type(check_int), default=16)
    p.add_argument("--max-length", type=cli_type(check_int, minimum=MIN_LENGTH, why=" (room for <s>, a token and </s>)"), default=256)
    p.add_argument("--seed", type=cli_type(check_int, minimum=0), default=42)

    p = sub.add_parser("mlm", help="masked-token accuracy and pseudo-perplexity per language")
    common(p)
    p.add_argument("--corpus", default="udhr", help="'udhr' (held-out articles 26-30, default) or per-language texts as for retrieval")
    p.add_argument("--max-sentences", type=cli_type(check_int), default=16)
    p.add_argument("--max-length", type=cli_type(check_int, minimum=MIN_LENGTH, why=" (room for <s>, a token and </s>)"), default=128)
    p.add_argument("--mask-probability", type=cli_type(check_float, maximum=1.0), default=0.15)
    p.add_argument("--mask-rounds", type=cli_type(check_int), default=1, help="independent mask draws pooled for the masked figures")
    p.add_argument("--no-pseudo-perplexity", action="store_true")
    p.add_argument("--batch-size", type=cli_type(check_int), default=32)

    p = sub.add_parser("neutrality", help="language neutrality per layer: cross-language cosine, language-ID probe")
    common(p)
    p.add_argument("--corpus", default="udhr", help="'udhr' (default, 31 units a language), a JSON {lang: [sentences]} or a folder of aligned per-language files")
    p.add_argument("--layers", type=int, nargs="+", default=None, help="hidden_states indices (default: all, 0 = embeddings)")
    p.add_argument("--probe-folds", type=cli_type(check_int, minimum=0), default=5, help="folds of the language-ID probe (0: no probe)")
    p.add_argument("--batch-size", type=cli_type(check_int), default=32)
    p.add_argument("--max-length", type=cli_type(check_int, minimum=MIN_LENGTH, why=" (room for <s>, a token and </s>)"), default=512)
    p.add_argument("--seed", type=cli_type(check_int, minimum=0), default=0, help="seed of the probe's fold assignment")

    p = sub.add_parser("embeddings", help="language / script embedding analysis and pictures")
    p.add_argument("--model", required=True)
    p.add_argument("--languages", nargs="+", default=None, help="languages for the pictures and the similarity table")
    p.add_argument("--plot-dir", default=None, help="write PNG pictures here")
    p.add_argument("--max-languages", type=cli_type(check_int, minimum=3, why=" (a picture needs at least 3 languages)"), default=60)
    p.add_argument("--nearest", nargs="+", default=[], metavar="LANG", help="print the nearest languages of these")
    p.add_argument("--recommend", nargs="+", default=[], metavar="TARGET", help="recommend source languages for these targets")
    p.add_argument("--candidates", nargs="+", default=None, help="restrict --nearest and --recommend to these languages (default: all of the model's)")
    p.add_argument("--all-languages", action="store_true", help="rank untrained languages too (default: only config.trained_pairs' languages when known)")
    p.add_argument("-k", type=cli_type(check_int), default=5)
    p.add_argument("--output", default=None)
    return parser


def _tasks_table():
    rows = []
    for task in TASKS.values():
        settings = ", ".join(f"{k} {'/'.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in task.defaults.items())
        rows.append([task.name, task.dataset, task.summary, settings])
    return markdown_table(["task", "dataset (Hub id)", "what", "defaults (the release's)"], rows)


def _benchmark(args):
    task = get_task(args.task)
    overrides = _overrides(args)
    task_settings(task, overrides)  # unknown settings are refused before anything loads
    models = _model_specs(args.models)
    if args.model_index is not None:
        unknown = [n for n in args.model_index if n not in models]
        if unknown:
            raise ValueError(f"--model-index {' '.join(unknown)}: not among the --models names ({', '.join(models)}).")
        from huggingface_hub import constants

        remote = [n for n in (args.model_index or list(models)) if not Path(models[n]).is_dir()]
        if remote and constants.HF_HUB_OFFLINE:  # found now, not after every evaluation has run
            raise ValueError(f"--model-index {' '.join(remote)}: a Hub repo's card cannot be updated with HF_HUB_OFFLINE set; unset it, or name local checkpoints only.")
    if task.kind == "retrieval":
        layer = overrides.get("layer", task.defaults["layer"])
        for path in models.values():
            check_layer(path, layer)
    from langsamp.evaluation.tasks import TaskData

    TaskData(task, args.dataset, args.token).languages()  # an unreachable or missing dataset is named before any model loads
    results = {}
    for name, path in models.items():
        print(f"== {task.name} on {name} ({path})", flush=True)
        results[name] = run_task(task.name, path, args.tokenizer, dataset=args.dataset, languages=args.languages, token=args.token, **overrides)
    table = side_by_side_table(results, per_language=not args.averages_only)
    print(table)
    if args.output:
        write_json({"task": task.name, "models": models, "results": results}, args.output)
        print(f"\nwritten: {args.output}")
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(table + "\n", encoding="utf-8")
        print(f"written: {args.markdown}")
    if args.model_index is not None:
        for name in args.model_index or list(models):
            print(f"model-index written: {write_model_index(models[name], [results[name]], model_name=name, token=args.token)}")


def _sources(args):
    result = compare_source_languages(
        _check_model(args.model), args.targets, args.candidates, task=args.task, english=args.english, tokenizer=args.tokenizer,
        dataset=args.dataset, token=args.token, random_seed=args.random_seed, all_languages=args.all_languages, **_overrides(args),
    )
    table = source_table(result)
    print(f"Zero-shot {result['task']} ({result['metric']}, %), mean over seeds {result['settings']['seeds']}:")
    print(table)
    if args.output:
        write_json(result, args.output)
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(table + "\n", encoding="utf-8")


def _check_paths(args):
    """Every path flag of the command, before anything loads: outputs are files (not folders) or folders (not files)
    that can be created; a tokenizer is a tokenizer folder or Hub id."""
    outputs = {flag: getattr(args, name, None) for flag, name in (("--output", "output"), ("--markdown", "markdown"))}
    for flag, path in outputs.items():
        check_output_file(path, flag)
    given = [path for path in outputs.values() if path]
    if len(given) == 2 and Path(given[0]).expanduser().resolve() == Path(given[1]).expanduser().resolve():
        raise ValueError(f"--output and --markdown are the same file {given[0]}: the table would overwrite the JSON.")
    check_output_folder(getattr(args, "plot_dir", None), "--plot-dir")
    _check_tokenizer(getattr(args, "tokenizer", None))


def run(args):
    _check_paths(args)
    if args.command == "tasks":
        print(_tasks_table())
    elif args.command == "benchmark":
        _benchmark(args)
    elif args.command == "sources":
        _sources(args)
    elif args.command == "retrieval":
        check_layer(_check_model(args.model), args.layer)
        result = sentence_retrieval(
            args.model, args.tokenizer, None if args.corpus == "udhr" else read_parallel_corpus(args.corpus),
            source=args.source, languages=args.languages, layer=args.layer, batch_size=args.batch_size, max_length=args.max_length,
        )
        print(f"Sentence retrieval, layer {result['layer']}, queries in {result['source']}, {result['candidates']} candidates a language (accuracy, %):")
        write_result(result, args.output)
    elif args.command == "classify":
        _check_model(args.model)
        if args.train:
            if not args.test:
                raise ValueError("--train needs --test LANG=PATH ...")
            ignored = [flag for flag, value in (("--languages", args.languages), ("--heldout-articles", args.heldout_articles)) if value]
            if ignored:
                raise ValueError(f"{' and '.join(ignored)} apply to the UDHR default task only; with --train the test languages are those of --test.")
            tests = {}
            for spec in args.test:
                lang, sep, path = spec.partition("=")
                if not sep or not lang or not path:
                    raise ValueError(f"--test {spec!r}: write LANG=PATH.")
                if lang in tests:
                    raise ValueError(f"--test: language {lang!r} is given twice; one test set a language.")
                tests[lang] = path
            tests = {lang: _load_split(path) for lang, path in tests.items()}
            train = _load_split(args.train)
            labels = args.label_names
        else:
            if args.test or args.label_names:
                raise ValueError("--test and --label-names need --train (without it the task is the offline UDHR topic task).")
            if args.task != "sequence":
                raise ValueError("The offline default task (UDHR topics) is a sequence task: pass --train / --test for tagging.")
            train, tests, labels = udhr_topic_classification(source=args.source or DEFAULT_SOURCE, languages=args.languages, heldout_articles=args.heldout_articles)
        result = zero_shot_transfer(
            args.model, args.tokenizer, train, tests, task=args.task, label_names=labels, text_column=args.text_column,
            label_column=args.label_column, source=args.source, num_train_epochs=args.epochs, max_steps=args.max_steps or -1,
            learning_rate=args.learning_rate, batch_size=args.batch_size, max_length=args.max_length, seed=args.seed,
        )
        if not args.train:
            result["note"] += (
                f" UDHR topic task: articles {args.heldout_articles} held out of training (content-disjoint test)."
                if args.heldout_articles
                else " UDHR topic task: test paragraphs are translations of the English training paragraphs, so the "
                "source's own figure is training accuracy."
            )
        source = result["source"] if args.source or not args.train else f"{result['source']} (the default: pass --source with the language of {args.train})"
        print(f"Zero-shot transfer from {source} ({result['train_examples']} training examples, {result['steps']} steps); %:")
        if result["source_metrics"]:
            print("source: " + ", ".join(f"{k} {v * 100:.2f}" for k, v in result["source_metrics"].items()))
        write_result(result, args.output)
    elif args.command == "mlm":
        _check_model(args.model)
        corpus = _corpus_arg(args.corpus, heldout=True)
        result = masked_lm_quality(
            args.model, args.tokenizer, corpus, languages=args.languages, mask_probability=args.mask_probability, mask_rounds=args.mask_rounds,
            pseudo_perplexity=not args.no_pseudo_perplexity, max_sentences=args.max_sentences, max_length=args.max_length, batch_size=args.batch_size,
        )
        print("Masked-LM quality (masked accuracy in %, perplexities):")
        write_result(result, args.output)
    elif args.command == "neutrality":
        model = _check_model(args.model)
        corpus = _corpus_arg(args.corpus)
        probe_folds = args.probe_folds or None
        check_neutrality_inputs(corpus, args.languages, model, args.layers, probe_folds, args.batch_size, args.max_length, args.seed)  # before loading
        result = language_neutrality(model, args.tokenizer, corpus, args.languages, args.layers, probe_folds, args.batch_size, args.max_length, args.seed)
        print(f"Language neutrality, {len(result['languages'])} languages x {result['sentences']} parallel sentences:")
        print(neutrality_table(result))
        print(f"\n{result['note']}")
        if args.output:
            write_json(result, args.output)
            print(f"\nwritten: {args.output}")
    elif args.command == "embeddings":
        from langsamp_codes import parse_language

        inventory = model_languages(checkpoint_config(_check_model(args.model)))
        for code in args.nearest + args.recommend + (args.candidates or []) + (args.languages or []) if inventory else []:
            parse_language(code, inventory)  # a bad code is named before the weights load
        if args.plot_dir and args.languages and len(set(args.languages)) < 3:
            raise ValueError(f"--plot-dir needs at least 3 --languages for its pictures, got {' '.join(args.languages)}.")
        model = embedding_model(args.model)
        result = {"task": "embeddings", "nearest": {}, "recommend": {}}
        for lang in args.nearest:
            result["nearest"][lang] = nearest_languages(model, lang, args.k, args.candidates, all_languages=args.all_languages)
            print(f"nearest to {lang}: " + ", ".join(f"{c} {s:.3f}" for c, s in result["nearest"][lang]))
        for lang in args.recommend:
            result["recommend"][lang] = recommend_source_languages(model, lang, args.k, args.candidates, all_languages=args.all_languages)
            print(f"source languages for {lang}: " + ", ".join(f"{c} {s:.3f}" for c, s in result["recommend"][lang]))
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
    return 0


def main(argv=None):
    """The CLI. Bad input (a wrong language, layer, path or setting) prints one line naming it and returns 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return run(args)
    except (ValueError, OSError) as error:  # OSError: a file that cannot be read or written, a checkpoint that cannot load
        print(f"{parser.prog} {args.command}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
