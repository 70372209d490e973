"""Evaluation and analysis of LangSAMP checkpoints (and of stock XLM-R, for comparison) with the paper's protocols:
the command line (`langsamp-eval`; `python langsamp_eval.py` in a clone). The functions it calls are the Python API,
`langsamp.evaluation`.

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
  corpus-stats  how much of a pretraining corpus repeats, per pair (normalised exact duplicates), before training.
  overlap     how much of a task's evaluation sentences (and their 13-grams) a pretraining corpus holds, per pair.

This module parses the flags and hands each command (commands.py) to the functions of langsamp/evaluation/ (the
package's docstring says which module does what). The language and script tables are used only by `mlm` and
`embeddings`; downstream tasks use the encoder alone.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from langsamp.command_name import command_name  # noqa: E402
from langsamp.evaluation.arguments import (  # noqa: E402
    MIN_LENGTH,
    check_float,
    check_int,
    check_paths,
    cli_type,
)
from langsamp.evaluation.commands import COMMANDS  # noqa: E402
from langsamp.evaluation.corpora import DEFAULT_SOURCE  # noqa: E402
from langsamp.evaluation.retrieval import DEFAULT_LAYER  # noqa: E402
from langsamp.evaluation.tasks import TASKS  # noqa: E402

logger = logging.getLogger(__name__)

LENGTH = cli_type(check_int, minimum=MIN_LENGTH, why=" (room for <s>, a token and </s>)")


class ArgumentParser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage block), exit status 2, and no prefix matching of flags (a
    misspelt `--mod` is refused, not taken as `--model`)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class CommandParser(ArgumentParser):
    """The top-level parser and its commands (`commands.add_parser`): an unknown flag is refused by the command it
    was given to, so the line names the command (`langsamp-eval retrieval: error: ...`)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.commands = self.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)

    def parse_args(self, args=None, namespace=None):
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:
            self.commands.choices[parsed.command].error(f"unrecognized arguments: {' '.join(unknown)}")
        return parsed


# ---------------------------------------------------------------- the flags, one function a command


def _add_common(p):
    p.add_argument("--model", required=True, help="checkpoint folder (LangSAMP, release format, or stock XLM-R)")
    p.add_argument(
        "--tokenizer", default=None, help="tokenizer folder (default: the model's; else the offline XLM-R one)"
    )
    p.add_argument("--languages", nargs="+", default=None, help="languages to evaluate (default: all of the corpus)")
    p.add_argument("--output", default=None, help="write the result as JSON here")


def _add_task_settings(p):
    g = p.add_argument_group("task settings (default: the release's value for the task; `tasks` lists them)")
    g.add_argument("--epochs", type=cli_type(check_float), default=None)
    g.add_argument("--learning-rate", type=cli_type(check_float), default=None)
    g.add_argument("--batch-size", type=cli_type(check_int), default=None)
    g.add_argument("--gradient-accumulation-steps", type=cli_type(check_int), default=None)
    g.add_argument("--max-length", type=LENGTH, default=None)
    g.add_argument("--seeds", type=cli_type(check_int, minimum=0), nargs="+", default=None,
                   help="one fine-tuning run per seed: mean ± sd")  # fmt: skip
    g.add_argument("--max-steps", type=cli_type(check_int), default=None,
                   help="stop each fine-tuning run after this many steps (quick looks)")  # fmt: skip
    g.add_argument("--max-examples", type=cli_type(check_int), default=None,
                   help="use at most this many examples per split (quick looks)")  # fmt: skip
    g.add_argument("--layer", type=int, default=None, help="retrieval: hidden_states index to pool (release: 8)")
    g.add_argument(
        "--top-k", type=cli_type(check_int), nargs="+", default=None, help="retrieval: Acc@k (release: 1 5 10)"
    )


def _add_benchmark(sub):
    p = sub.add_parser("benchmark", help="a named task on one or several checkpoints, side by side")
    p.add_argument("--task", required=True, help=f"one of {', '.join(TASKS)}")
    p.add_argument("--models", nargs="+", required=True, metavar="NAME=PATH", help="checkpoints (folders or Hub ids), "
                   "e.g. start=cis-lmu/glot500-base langsamp=outputs/run")  # fmt: skip
    p.add_argument("--tokenizer", default=None, help="tokenizer for every checkpoint (default: each one's own)")
    p.add_argument("--dataset", default=None, help="the Hub dataset id (default: the task's) or a local folder laid "
                   "out like it; taxi1500: the TSV folder")  # fmt: skip
    p.add_argument("--token", default=None,
                   help="Hub token for gated datasets (flores); default: HF_TOKEN / the saved login")  # fmt: skip
    p.add_argument("--languages", nargs="+", default=None, help="the dataset's language codes to test (default: all)")
    p.add_argument("--output", default=None, help="write all results as JSON here")
    p.add_argument("--markdown", default=None, help="write the side-by-side table here")
    p.add_argument("--averages-only", action="store_true", help="the table shows only the all / head / tail averages")
    p.add_argument("--model-index", nargs="*", default=None, metavar="NAME", help="write the results into these "
                   "checkpoints' model cards as Hub model-index metadata (no NAME: all)")  # fmt: skip
    _add_task_settings(p)


def _add_sources(sub):
    p = sub.add_parser("sources", help="recommended source language vs English vs a random one, zero-shot")
    p.add_argument("--model", required=True,
                   help="a LangSAMP masked-LM checkpoint (its language table ranks the sources)")  # fmt: skip
    p.add_argument("--task", default="udhr-topics", help="a fine-tuning task (default udhr-topics, offline)")
    p.add_argument("--targets", nargs="+", required=True, help="target languages, as the task's dataset spells them")
    p.add_argument("--candidates", nargs="+", required=True,
                   help="source languages to choose from (with training data)")  # fmt: skip
    p.add_argument("--english", default=None, help="the English baseline source (default: the task's English)")
    p.add_argument("--random-seed", type=int, default=0, help="seed of the random-source draw")
    p.add_argument("--all-languages", action="store_true",
                   help="rank untrained languages too (when config.trained_pairs is known)")  # fmt: skip
    for flag in ("--dataset", "--token", "--tokenizer", "--output", "--markdown"):
        p.add_argument(flag, default=None)
    _add_task_settings(p)


def _add_retrieval(sub):
    p = sub.add_parser("retrieval", help="SR-B / SR-T sentence retrieval (top-1 / top-10)")
    _add_common(p)
    p.add_argument("--corpus", default="udhr", help="'udhr' (default), a JSON {lang: [sentences]} or a folder of "
                   "aligned per-language files")  # fmt: skip
    p.add_argument("--source", default=DEFAULT_SOURCE, help="query language (default eng)")
    p.add_argument("--layer", type=int, default=DEFAULT_LAYER,
                   help="hidden_states index to pool (0 = embeddings; default 8)")  # fmt: skip
    p.add_argument("--batch-size", type=cli_type(check_int), default=32)
    p.add_argument("--max-length", type=LENGTH, default=512)


def _add_classify(sub):
    p = sub.add_parser("classify", help="zero-shot cross-lingual fine-tuning (sequence or token classification)")
    _add_common(p)
    p.add_argument("--task", choices=("sequence", "token"), default="sequence")
    p.add_argument("--train", default=None,
                   help="training set of the source language (default: UDHR topics in English)")  # fmt: skip
    p.add_argument("--test", nargs="+", default=None, metavar="LANG=PATH", help="test sets, one per language")
    p.add_argument("--text-column", default=None)
    p.add_argument("--label-column", default=None)
    p.add_argument("--source", default=None, help="source language (default eng)")
    p.add_argument("--label-names", nargs="+", default=None, metavar="NAME",
                   help="class names in id order, for integer labels (default: '0', '1', ...)")  # fmt: skip
    p.add_argument("--heldout-articles", type=int, nargs="+", default=None,
                   help="UDHR topics: test only on these articles (content-disjoint)")  # fmt: skip
    p.add_argument("--epochs", type=cli_type(check_float), default=10)
    p.add_argument("--max-steps", type=cli_type(check_int), default=None,
                   help="stop after this many steps (default: no limit, train --epochs)")  # fmt: skip
    p.add_argument("--learning-rate", type=cli_type(check_float), default=2e-5)
    p.add_argument("--batch-size", type=cli_type(check_int), default=16)
    p.add_argument("--max-length", type=LENGTH, default=256)
    p.add_argument("--seed", type=cli_type(check_int, minimum=0), default=42)


def _add_mlm(sub):
    p = sub.add_parser("mlm", help="masked-token accuracy and pseudo-perplexity per language")
    _add_common(p)
    p.add_argument("--corpus", default="udhr",
                   help="'udhr' (held-out articles 26-30, default) or per-language texts as for retrieval")  # fmt: skip
    p.add_argument("--max-sentences", type=cli_type(check_int), default=16)
    p.add_argument("--max-length", type=LENGTH, default=128)
    p.add_argument("--mask-probability", type=cli_type(check_float, maximum=1.0), default=0.15)
    p.add_argument("--mask-rounds", type=cli_type(check_int), default=1,
                   help="independent mask draws pooled for the masked figures")  # fmt: skip
    p.add_argument("--no-pseudo-perplexity", action="store_true")
    p.add_argument("--batch-size", type=cli_type(check_int), default=32)


def _add_neutrality(sub):
    p = sub.add_parser("neutrality", help="language neutrality per layer: cross-language cosine, language-ID probe")
    _add_common(p)
    p.add_argument("--corpus", default="udhr", help="'udhr' (default, 31 units a language), a JSON {lang: "
                   "[sentences]} or a folder of aligned per-language files")  # fmt: skip
    p.add_argument("--layers", type=int, nargs="+", default=None,
                   help="hidden_states indices (default: all, 0 = embeddings)")  # fmt: skip
    p.add_argument("--probe-folds", type=cli_type(check_int, minimum=0), default=5,
                   help="folds of the language-ID probe (0: no probe)")  # fmt: skip
    p.add_argument("--batch-size", type=cli_type(check_int), default=32)
    p.add_argument("--max-length", type=LENGTH, default=512)
    p.add_argument("--seed", type=cli_type(check_int, minimum=0), default=0,
                   help="seed of the probe's fold assignment")  # fmt: skip


def _add_embeddings(sub):
    p = sub.add_parser("embeddings", help="language / script embedding analysis and pictures")
    p.add_argument("--model", required=True)
    p.add_argument("--languages", nargs="+", default=None, help="languages for the pictures and the similarity table")
    p.add_argument("--plot-dir", default=None, help="write PNG pictures here")
    p.add_argument("--max-languages", default=60,
                   type=cli_type(check_int, minimum=3, why=" (a picture needs at least 3 languages)"))  # fmt: skip
    p.add_argument("--nearest", nargs="+", default=[], metavar="LANG", help="print the nearest languages of these")
    p.add_argument("--recommend", nargs="+", default=[], metavar="TARGET",
                   help="recommend source languages for these targets")  # fmt: skip
    p.add_argument("--candidates", nargs="+", default=None, help="restrict --nearest and --recommend to these "
                   "languages (default: all of the model's)")  # fmt: skip
    p.add_argument("--all-languages", action="store_true", help="rank untrained languages too (default: only "
                   "config.trained_pairs' languages when known)")  # fmt: skip
    p.add_argument("-k", type=cli_type(check_int), default=5)
    p.add_argument("--output", default=None)


def _add_corpus_stats(sub):
    p = sub.add_parser("corpus-stats", help="duplicate lines per pair of a pretraining corpus (read-only)")
    p.add_argument("--corpus", required=True, help="a corpus of pairs, as train.py --corpus takes it")
    p.add_argument("--languages", nargs="+", default=None, help="only these languages or pairs")
    p.add_argument("--corpus_split", default="train", help="the split of a dataset corpus")
    p.add_argument("--bloom_mb", type=float, default=None,
                   help="count with a Bloom filter of this many MB a pair, as train.py --streaming --dedup does "
                   "(default: exact)")  # fmt: skip
    p.add_argument("--output", default=None, help="write the counts as JSON here")


def _add_overlap(sub):
    p = sub.add_parser("overlap", help="evaluation sentences found in a pretraining corpus, per pair")
    p.add_argument("--corpus", required=True, help="a corpus of pairs, as train.py --corpus takes it")
    p.add_argument(
        "--task", required=True, help=f"a task ({', '.join(TASKS)}), its Hub id, or a folder of <lang>_<Script>.txt"
    )
    p.add_argument("--dataset", default=None, help="the task's data: a local folder laid out like the Hub repo")
    p.add_argument("--token", default=None, help="Hub token for gated sets (flores)")
    p.add_argument("--languages", nargs="+", default=None, help="only these languages or pairs of the corpus")
    p.add_argument("--corpus_split", default="train", help="the split of a dataset corpus")
    p.add_argument("--output", default=None, help="write the figures as JSON here")


def build_parser() -> CommandParser:
    parser = CommandParser(prog=command_name("langsamp_eval.py"), description=__doc__.split("\n\n")[0])
    sub = parser.commands
    sub.add_parser("tasks", help="list the named tasks and their defaults")
    for add in (
        _add_benchmark,
        _add_sources,
        _add_retrieval,
        _add_classify,
        _add_mlm,
        _add_neutrality,
        _add_embeddings,
        _add_corpus_stats,
        _add_overlap,
    ):
        add(sub)
    return parser


def run(args: argparse.Namespace) -> int:
    """One parsed command: its path flags are checked before anything loads, then it runs. Returns 0."""
    paths = ("output", "markdown", "plot_dir", "tokenizer")
    check_paths(**{name: getattr(args, name, None) for name in paths})
    COMMANDS[args.command](args)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI. Bad input (a wrong language, layer, path or setting) prints one line naming it and returns 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return run(args)
    except (
        ValueError,
        OSError,
    ) as error:  # OSError: a file that cannot be read or written, a checkpoint that won't load
        print(f"{parser.prog} {args.command}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
