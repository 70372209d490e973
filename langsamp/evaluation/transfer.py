"""Zero-shot cross-lingual transfer with the stock Trainer: fine-tune a sequence- or token-classification head on a
source language, test on every other language. Scores: scikit-learn accuracy / macro-F1 (metrics/accuracy_f1) and
seqeval entity F1 (metrics/seqeval_f1), the libraries the release used."""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from langsamp.evaluation.arguments import MIN_LENGTH, check_float, check_int, check_learning_rate, check_max_steps
from langsamp.evaluation.corpora import DEFAULT_SOURCE, udhr_topic_classification
from langsamp.evaluation.labelled_data import udhr_topic_note
from langsamp.evaluation.models import load_model, max_tokens, resolve_tokenizer

if TYPE_CHECKING:
    from datasets import Dataset
    from evaluate import EvaluationModule
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

METRICS_DIR = Path(__file__).resolve().parent / "metrics"
logger = logging.getLogger(__name__)


def load_metric(name: str) -> EvaluationModule:
    """A local `evaluate` metric module from metrics/ (nothing loads from the Hub)."""
    import evaluate

    return evaluate.load(str(METRICS_DIR / name))


def _flat_labels(dataset, column, task):
    values = dataset[column]
    return [v for seq in values for v in seq] if task == "token" else list(values)


def _label_names(dataset, column, task):
    """The class names in id order: the training column's ClassLabel names; sorted strings for string labels;
    for integer labels without names, '0' .. str(max) of the training set's ids (a test id beyond them is refused by
    _check_labels: the head could never predict it)."""
    feature = dataset.features[column]
    inner = getattr(feature, "feature", None) if task == "token" else feature
    if inner is not None and hasattr(inner, "names"):
        return list(inner.names)
    flat = _flat_labels(dataset, column, task)
    if all(isinstance(v, str) for v in flat):
        return sorted(set(flat))
    if all(isinstance(v, int) and not isinstance(v, bool) for v in flat):
        values = flat
        negative = sorted({v for v in values if v < 0})
        if negative:
            raise ValueError(
                f"Column {column!r} holds negative labels {negative[:5]}: integer labels are class ids 0, 1, ...; "
                "pass `label_names` (--label-names) and ids in 0 .. len-1."
            )
        top = max(values)
        logger.info(
            "Column %r holds integer labels: classes named '0' .. '%d' (pass label_names / --label-names for names).",
            column,
            top,
        )
        return [str(i) for i in range(top + 1)]
    kinds = sorted({type(v).__name__ for v in flat})
    raise ValueError(
        f"Column {column!r} mixes label types ({', '.join(kinds)}): use class names (strings) or class ids (integers) "
        "throughout."
    )


def _check_labels(named, column, task, label_names):
    """Every label of every split must be a training label name or an id < len(label_names): checked before the model
    loads (otherwise it fails in tokenization, after loading, or indexes past the head)."""
    known = set(label_names)
    for name, ds in named:
        bad = []
        for v in dict.fromkeys(_flat_labels(ds, column, task)):
            if isinstance(v, str):
                ok = v in known
            else:
                ok = isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(label_names)
            if not ok:
                bad.append(v)
        if bad:
            raise ValueError(
                f"Dataset {name!r}: label(s) {', '.join(map(repr, bad[:5]))} are not among the {len(label_names)} "
                f"training classes ({', '.join(label_names[:10])}{', ...' if len(label_names) > 10 else ''}): pass "
                "label_names (--label-names) with every class, in id order."
            )


def _to_ids(value, label_to_id, task):
    def one(v):
        if isinstance(v, str):
            if v not in label_to_id:
                raise ValueError(f"Label {v!r} is not among the training labels ({', '.join(label_to_id)}).")
            return label_to_id[v]
        return int(v)

    return [one(v) for v in value] if task == "token" else one(value)


def _task_model(model, task, label_names):
    """A fresh task model with a `len(label_names)`-way head from a checkpoint path or a loaded model."""
    kind = "sequence-classification" if task == "sequence" else "token-classification"
    labels = dict(
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id={n: i for i, n in enumerate(label_names)},
    )
    if isinstance(model, (str, Path)):
        return load_model(model, kind, **labels).train()
    head = "ForSequenceClassification" if task == "sequence" else "ForTokenClassification"
    if type(model).__name__.endswith(head) and model.config.num_labels == len(label_names):
        return model.train()
    # Any other loaded model (a masked LM, say): go through disk, as a user would with a checkpoint.
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        return load_model(folder, kind, **labels).train()


def _scores(task, predicted, gold, label_names):
    """Per-example predictions -> the task's metric dict (scikit-learn for classes, seqeval for tags)."""
    if task == "sequence":
        # Macro-F1 over the classes present in the references or predictions (sklearn's default): a test set that
        # holds only some classes (held-out articles) is not penalised for the absent ones.
        return load_metric("accuracy_f1").compute(
            predictions=list(map(int, predicted)), references=list(map(int, gold))
        )
    pred_tags, gold_tags = [], []
    for pred_row, gold_row in zip(predicted, gold):
        keep = gold_row != -100  # the first sub-token of each word carries the word's label
        pred_tags.append([label_names[i] for i in pred_row[keep]])
        gold_tags.append([label_names[i] for i in gold_row[keep]])
    return load_metric("seqeval_f1").compute(predictions=pred_tags, references=gold_tags)


def zero_shot_transfer(
    model: str | Path | PreTrainedModel,
    tokenizer: str | Path | PreTrainedTokenizerBase | None = None,
    train_dataset: Dataset | None = None,
    test_datasets: dict | None = None,
    task: str = "sequence",
    label_names: list[str] | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    source: str | None = None,
    dev_dataset: Dataset | None = None,
    output_dir: str | Path | None = None,
    num_train_epochs: float = 10,
    max_steps: int = -1,
    learning_rate: float = 2e-5,
    batch_size: int = 16,
    gradient_accumulation_steps: int = 1,
    eval_batch_size: int = 64,
    max_length: int = 256,
    seed: int = 42,
    **training_args,
) -> dict:
    """Fine-tune on `train_dataset` (the source language) with the stock Trainer; test on each of `test_datasets`.

    task: "sequence" (columns `text` / `label` by default; metrics accuracy and macro-F1, the paper's Taxi1500 /
    SIB-200 metric) or "token" (`tokens` / `ner_tags`; the first sub-token of each word carries its label, the
    other sub-tokens -100; seqeval entity F1 and token accuracy, as XTREME's run_tag.py).
    dev_dataset: the source language's dev set; when given, the model is evaluated on it after every epoch and
    the best epoch (macro-F1 / F1) is the one tested, as the release does. Without it, the last epoch is tested.
    model: a checkpoint path or a loaded model (a task model is used as given, anything else gets a fresh head,
    initialised under `seed`); tokenizer: default the checkpoint's own (resolve_tokenizer). Defaults: the UDHR
    topic task, trained on English. Returns `per_language` metrics, `average` over the test languages other than
    the source, and `source_metrics` (the source's own test set).
    """
    from transformers import set_seed

    _check_settings(task, num_train_epochs, max_steps, learning_rate, batch_size, gradient_accumulation_steps,
                    eval_batch_size, max_length, seed)  # fmt: skip
    data = _task_data(task, train_dataset, test_datasets, dev_dataset, label_names, text_column, label_column, source)
    tokenizer = resolve_tokenizer(tokenizer, model)
    set_seed(seed)  # the fresh head's initialisation is part of what a seed varies
    model = _task_model(model, task, data.label_names)
    max_length = max_tokens(model, max_length)
    encode = _encoder(tokenizer, task, data.text_column, data.label_column, data.label_names, max_length)
    train, test, test_languages, dev = _encoded(encode, data.train, data.tests, data.dev)
    settings = dict(
        output_dir=output_dir,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=eval_batch_size,
        gradient_accumulation_steps=gradient_accumulation_steps,
        learning_rate=learning_rate,
        num_train_epochs=num_train_epochs,
        max_steps=max_steps,
        seed=seed,
    )
    train_output, best_dev, predictions = _fine_tune(
        model, tokenizer, task, data.label_names, train, dev, test, settings, training_args
    )
    per_language = _per_language(task, data.label_names, predictions, test_languages, list(data.tests))
    result = _result(task, data, per_language, best_dev, dev is not None)
    result.update(train_examples=len(train), train_loss=float(train_output.training_loss),
                  steps=int(train_output.global_step))  # fmt: skip
    result["test_examples"] = {code: int((test_languages == i).sum()) for i, code in enumerate(data.tests)}
    return _ordered(result)


@dataclass
class _TaskData:
    """The checked datasets of one run and how to read them."""

    train: Any
    tests: dict
    dev: Any
    label_names: list
    text_column: str
    label_column: str
    source: str
    default_task: bool


def _task_data(task, train_dataset, test_datasets, dev_dataset, label_names, text_column, label_column, source):
    """The datasets (default: the offline UDHR topic task), their columns and classes, checked; the source language
    as the test sets name it."""
    default_task = train_dataset is None
    if default_task:
        if task != "sequence":
            raise ValueError(
                "The offline default (UDHR topics) is a sequence task: pass train/test datasets for tagging."
            )
        train_dataset, test_datasets, label_names = udhr_topic_classification(source=source or DEFAULT_SOURCE)
    if not test_datasets:
        raise ValueError("Give `test_datasets`: a dict {language: Dataset} with the same columns as the training set.")
    text_column = text_column or ("text" if task == "sequence" else "tokens")
    label_column = label_column or ("label" if task == "sequence" else "ner_tags")
    named = [("train", train_dataset)] + ([("dev", dev_dataset)] if dev_dataset is not None else [])
    named += list(test_datasets.items())
    label_names = _checked_label_names(named, text_column, label_column, task, label_names)
    # The source's own test set is reported apart; by default (as documented) the source is English.
    source = source or DEFAULT_SOURCE
    if source not in test_datasets:
        source = next((code for code in test_datasets if code.split("_")[0] == source), source)
    return _TaskData(train_dataset, test_datasets, dev_dataset, label_names, text_column, label_column, source,
                     default_task)  # fmt: skip


def _result(task, data, per_language, best_dev, with_dev):
    """The figures and the note of one run (without its training statistics)."""
    others = [code for code in data.tests if code != data.source]
    names = list(next(iter(per_language.values())))
    average = {name: float(np.mean([per_language[c][name] for c in others])) for name in names} if others else {}
    main_metric = "macro_f1" if task == "sequence" else "f1"
    note = "Zero-shot: trained on the source language only; the average leaves the source out."
    if with_dev:
        note += f" Tested the epoch with the best source-dev {main_metric} ({best_dev:.4f})."
    if data.default_task:
        note += udhr_topic_note()
    return {
        "task": "classification" if task == "sequence" else "tagging",
        "metric": main_metric,
        "source": data.source,
        "labels": data.label_names,
        "best_dev": best_dev,
        "source_metrics": per_language.get(data.source),
        "per_language": {code: per_language[code] for code in others},
        "average": average,
        "note": note,
    }


RESULT_KEYS = ("task", "metric", "source", "labels", "train_examples", "train_loss", "steps", "best_dev",
               "test_examples", "source_metrics", "per_language", "average", "note")  # fmt: skip


def _ordered(result):
    """The result's keys in their documented order."""
    return {key: result[key] for key in RESULT_KEYS}


def _per_language(task, label_names, predictions, test_languages, languages):
    """{language: scores} from the predictions on all test sets at once."""
    predicted, gold = predictions.predictions.argmax(-1), predictions.label_ids
    per_language = {}
    for index, code in enumerate(languages):
        rows = np.flatnonzero(test_languages == index)
        per_language[code] = _scores(task, predicted[rows], gold[rows], label_names)
    return per_language


def _check_settings(task, num_train_epochs, max_steps, learning_rate, batch_size, gradient_accumulation_steps,
                    eval_batch_size, max_length, seed):  # fmt: skip
    if task not in ("sequence", "token"):
        raise ValueError(f"Unknown task {task!r}: use 'sequence' (text classification) or 'token' (tagging).")
    check_float("num_train_epochs", num_train_epochs)
    check_max_steps("max_steps", max_steps)
    check_learning_rate("learning_rate", learning_rate)
    for name, value in (
        ("batch_size", batch_size),
        ("gradient_accumulation_steps", gradient_accumulation_steps),
        ("eval_batch_size", eval_batch_size),
    ):
        check_int(name, value)
    check_int("max_length", max_length, minimum=MIN_LENGTH, why=" (room for <s>, a token and </s>)")
    check_int("seed", seed, minimum=0)


def _checked_label_names(named, text_column, label_column, task, label_names):
    """Every split has the columns and some rows, and every label is a class: returns the class names in id order."""
    for name, ds in named:
        missing = [c for c in (text_column, label_column) if c not in ds.column_names]
        if missing:
            raise ValueError(
                f"Dataset {name!r} lacks column(s) {missing}; it has {ds.column_names}. Set text_column / label_column."
            )
    empty = [name for name, ds in named if len(ds) == 0]
    if empty:
        raise ValueError(
            f"Dataset(s) {', '.join(map(repr, empty))} hold no examples: give each split at least one row."
        )
    train_dataset = named[0][1]
    label_names = list(label_names) if label_names is not None else _label_names(train_dataset, label_column, task)
    if len(label_names) < 2 or len(set(label_names)) != len(label_names):
        raise ValueError(f"label_names {label_names}: a classifier needs at least 2 distinct classes.")
    _check_labels(named, label_column, task, label_names)
    return label_names


def _encoder(tokenizer, task, text_column, label_column, label_names, max_length):
    """The batched `datasets.map` function: token ids and labels (for tags, on each word's first sub-token)."""
    label_to_id = {name: i for i, name in enumerate(label_names)}

    def encode(batch):
        if task == "sequence":
            encoded = tokenizer(batch[text_column], truncation=True, max_length=max_length)
            encoded["labels"] = [_to_ids(v, label_to_id, task) for v in batch[label_column]]
            return encoded
        encoded = tokenizer(batch[text_column], is_split_into_words=True, truncation=True, max_length=max_length)
        aligned = []
        for i, tags in enumerate(batch[label_column]):
            tags = _to_ids(tags, label_to_id, task)
            previous, row = None, []
            for word in encoded.word_ids(i):
                row.append(-100 if word is None or word == previous else tags[word])
                previous = word
            aligned.append(row)
        encoded["labels"] = aligned
        return encoded

    return encode


def _encoded(encode, train_dataset, test_datasets, dev_dataset):
    """(train, all tests in one set, each test row's language index, dev or None), tokenized."""
    import datasets

    tests = [ds.add_column("__language", [i] * len(ds)) for i, ds in enumerate(test_datasets.values())]
    test = datasets.concatenate_datasets(tests)
    train = train_dataset.map(encode, batched=True, remove_columns=train_dataset.column_names, desc="tokenize train")
    test_languages = np.asarray(test["__language"])
    test = test.map(encode, batched=True, remove_columns=test.column_names, desc="tokenize test")
    dev = None
    if dev_dataset is not None:
        dev = dev_dataset.map(encode, batched=True, remove_columns=dev_dataset.column_names, desc="tokenize dev")
    return train, test, test_languages, dev


def _fine_tune(model, tokenizer, task, label_names, train, dev, test, settings, training_args):
    """Train with the stock Trainer (keeping the best source-dev epoch when there is a dev set) and predict the test
    set: (train output, best dev metric or None, predictions). Without an output_dir, a temporary one is removed."""
    from transformers import DataCollatorForTokenClassification, DataCollatorWithPadding, Trainer, TrainingArguments

    main_metric = "macro_f1" if task == "sequence" else "f1"

    def compute_metrics(prediction):
        return _scores(task, prediction.predictions.argmax(-1), prediction.label_ids, label_names)

    collator = (
        DataCollatorWithPadding(tokenizer) if task == "sequence" else DataCollatorForTokenClassification(tokenizer)
    )
    own_dir = settings["output_dir"] is None
    output_dir = tempfile.mkdtemp(prefix="langsamp-zero-shot-") if own_dir else settings["output_dir"]
    selection = (
        dict(eval_strategy="epoch", save_strategy="epoch", load_best_model_at_end=True,
             metric_for_best_model=main_metric, greater_is_better=True, save_total_limit=1, save_only_model=True)
        if dev is not None
        else dict(eval_strategy="no", save_strategy="no")
    )  # fmt: skip
    args = TrainingArguments(
        **dict(settings, output_dir=str(output_dir)),
        report_to="none",
        logging_steps=training_args.pop("logging_steps", 10),
        dataloader_pin_memory=training_args.pop("dataloader_pin_memory", torch.cuda.is_available()),
        **selection,
        **training_args,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=dev,
        data_collator=collator,
        processing_class=tokenizer,
        compute_metrics=compute_metrics if dev is not None else None,
    )
    train_output = trainer.train()
    best_dev = trainer.state.best_metric if dev is not None else None
    predictions = trainer.predict(test)
    if own_dir:
        shutil.rmtree(output_dir, ignore_errors=True)
    return train_output, best_dev, predictions
