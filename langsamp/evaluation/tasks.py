"""The paper's evaluation tasks by name: which Hub dataset (id + config per language), which columns and labels,
and the release's hyper-parameters as defaults (every one overridable).

Every Hub task loads with `datasets.load_dataset(path, config, split=...)`, where `path` is the Hub id or a local
folder laid out like the Hub repo (README YAML `configs:` and the same data files): the tests' fixtures take the
code path a user's real id takes (task_data.py). `run_task` (benchmark.py) evaluates one checkpoint on one task:
per-language figures, the average over all, head and tail languages, mean ± sd over seeds, and the languages the
model lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from langsamp.evaluation.arguments import (
    MIN_LENGTH,
    check_float,
    check_int,
    check_learning_rate,
    check_max_steps,
    check_seeds,
    check_top_k,
)

SIB200_CATEGORIES = ("science/technology", "travel", "politics", "sports", "health", "entertainment", "geography")
TAXI1500_LABELS = ("Recommendation", "Faith", "Violence", "Grace", "Sin", "Description")
WIKIANN_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
UPOS_TAGS = (
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
)  # google/xtreme udpos.* ClassLabel order

# The release's protocols: its fine-tuning and retrieval settings.
SEQUENCE_DEFAULTS = dict(
    learning_rate=1e-5, batch_size=8, gradient_accumulation_steps=2, epochs=40, max_length=160, seeds=(1, 2, 3, 4, 5)
)
TAGGING_DEFAULTS = dict(
    learning_rate=2e-5, batch_size=8, gradient_accumulation_steps=4, epochs=10, max_length=256, seeds=(1,)
)
RETRIEVAL_DEFAULTS = dict(layer=8, max_length=512, top_k=(1, 5, 10), batch_size=32)
FINE_TUNING_KEYS = (
    "learning_rate",
    "batch_size",
    "gradient_accumulation_steps",
    "epochs",
    "max_length",
    "seeds",
    "max_steps",
    "max_examples",
)
RETRIEVAL_KEYS = ("layer", "max_length", "top_k", "batch_size")


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # "retrieval", "sequence" (text classification) or "token" (tagging)
    dataset: str  # the Hub id, or what the user brings ("udhr": offline)
    convention: str  # how the dataset names languages (languages.dataset_language)
    source: str  # the English config / language (queries for retrieval, training data for fine-tuning)
    summary: str
    defaults: dict = field(default_factory=dict)
    text_column: str = None
    label_column: str = None
    label_names: tuple = None
    splits: tuple = ("train", "validation", "test")  # train, dev, test (retrieval: the test split only)


TASKS = {
    task.name: task
    for task in (
        Task(
            "sib200",
            "sequence",
            "Davlan/sib200",
            "label",
            "eng_Latn",
            "SIB-200 topic classification (7 classes, 205 languages), macro-F1",
            dict(SEQUENCE_DEFAULTS),
            "text",
            "category",
            SIB200_CATEGORIES,
        ),
        Task(
            "taxi1500",
            "sequence",
            "taxi1500",
            "label",
            "eng_Latn",
            "Taxi1500 Bible-verse topics (6 classes; TSV files you bring), macro-F1",
            dict(SEQUENCE_DEFAULTS, max_length=100, seeds=(1, 2, 3, 4)),
            "text",
            "label",
            TAXI1500_LABELS,
            ("train", "dev", "test"),
        ),
        Task(
            "wikiann",
            "token",
            "unimelb-nlp/wikiann",
            "wikipedia",
            "en",
            "WikiANN NER (PER/ORG/LOC), seqeval F1",
            dict(TAGGING_DEFAULTS),
            "tokens",
            "ner_tags",
            WIKIANN_TAGS,
        ),
        Task(
            "udpos",
            "token",
            "google/xtreme",
            "language-name",
            "English",
            "Universal Dependencies POS (XTREME udpos.*), seqeval F1",
            dict(TAGGING_DEFAULTS),
            "tokens",
            "pos_tags",
            UPOS_TAGS,
        ),
        Task(
            "tatoeba",
            "retrieval",
            "mteb/tatoeba-bitext-mining",
            "iso639-3",
            "eng",
            "SR-T: Tatoeba sentence retrieval, English queries, Acc@1/5/10",
            dict(RETRIEVAL_DEFAULTS),
            splits=("test",),
        ),
        Task(
            "flores",
            "retrieval",
            "openlanguagedata/flores_plus",
            "label",
            "eng_Latn",
            "FLORES+ sentence retrieval (gated: needs a token), Acc@1/5/10",
            dict(RETRIEVAL_DEFAULTS),
            splits=("devtest",),
        ),
        Task(
            "udhr-retrieval",
            "retrieval",
            "udhr",
            "label",
            "eng_Latn",
            "offline: UDHR retrieval (31 units a language), Acc@1/5/10",
            dict(RETRIEVAL_DEFAULTS),
        ),
        Task(
            "udhr-topics",
            "sequence",
            "udhr",
            "label",
            "eng_Latn",
            "offline: UDHR paragraph topics (6 classes, a Taxi1500-like task), macro-F1",
            # Not a release task: 3e-4 is what learns here in 30 steps over 45 English paragraphs; lower rates leave
            # the head predicting few classes (bench/results/evaluation-examples.md).
            dict(
                learning_rate=3e-4, batch_size=16, gradient_accumulation_steps=1, epochs=10, max_length=256, seeds=(42,)
            ),
        ),
    )
}


def tasks_table() -> str:
    """The named tasks as a markdown table: name, dataset, what it measures, the release's defaults."""
    from langsamp.evaluation.report import markdown_table

    rows = []
    for task in TASKS.values():
        settings = ", ".join(
            f"{k} {'/'.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in task.defaults.items()
        )
        rows.append([task.name, task.dataset, task.summary, settings])
    return markdown_table(["task", "dataset (Hub id)", "what", "defaults (the release's)"], rows)


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"Unknown task {name!r}: use one of {', '.join(TASKS)}.")
    return TASKS[name]


def task_settings(task: Task, overrides: dict | None = None) -> dict:
    """The task's defaults with `overrides` applied (None values keep the default); unknown keys are refused."""
    allowed = RETRIEVAL_KEYS if task.kind == "retrieval" else FINE_TUNING_KEYS
    settings = dict(task.defaults)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in allowed:
            raise ValueError(
                f"Setting {key!r} does not apply to {task.name} (a {task.kind} task): it takes {', '.join(allowed)}."
            )
        settings[key] = tuple(value) if key in ("seeds", "top_k") else value
    return check_settings(settings, task.name)


def check_settings(settings: dict, what: str = "the task") -> dict:
    """Refuse a setting whose value would train nothing, loop on nothing or report a silently wrong figure."""
    for key, value in settings.items():
        name = f"{what}: {key}"
        if key == "epochs":
            check_float(name, value)
        elif key == "learning_rate":
            check_learning_rate(name, value)
        elif key in ("batch_size", "gradient_accumulation_steps", "max_examples"):
            check_int(name, value)
        elif key == "max_length":
            check_int(name, value, minimum=MIN_LENGTH, why=" (room for <s>, a token and </s>)")
        elif key == "max_steps":
            check_max_steps(name, value)
        elif key == "seeds":
            settings[key] = tuple(check_seeds(name, value))
        elif key == "top_k":
            settings[key] = check_top_k(name, value)
        elif key == "layer" and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError(f"{name}={value!r}: must be an integer (a hidden_states index).")
    return settings
