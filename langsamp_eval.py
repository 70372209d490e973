"""Evaluation and analysis of LangSAMP checkpoints (and of stock XLM-R, for comparison) with the paper's protocols.

Importable functions, and a CLI (`python langsamp_eval.py <command> --help`):

  retrieval   SR-B / SR-T sentence retrieval: English queries against each target language, mean pooling of
              one layer's output over all non-padding tokens (default layer 8), cosine similarity, top-1 and
              top-10 accuracy per language and averaged. Any parallel corpus; offline default: the UDHR.
  classify    Zero-shot cross-lingual transfer with the stock Trainer: fine-tune a sequence- or
              token-classification head on a source language, test on every other language. Offline default:
              a Taxi1500-like topic task built from the UDHR (paragraph -> theme of its article).
  mlm         Masked-LM quality per language on held-out text: masked-token accuracy and perplexity (15% masked at
              once) and pseudo-perplexity (every token masked in turn), with the language / script ids from the
              LangSAMP tokenizer.
  embeddings  The learned language (and script) embeddings: similarities, nearest languages, recommended
              source languages for a target, and PNG pictures (heatmap, PCA map, dendrogram).

The language and script tables are never used by the first three (the paper's protocol): they only evaluate the
encoder or the masked-LM head. Results are dicts (printed as markdown tables, written as JSON by the CLI).
"""

import argparse
import difflib
import json
import logging
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

logger = logging.getLogger("langsamp_eval")

ROOT = Path(__file__).resolve().parent
METRICS_DIR = ROOT / "metrics"
DEFAULT_LAYER = 8  # the paper pools the 8th layer's output for retrieval (hidden_states[8]; [0] is the embeddings)
DEFAULT_SOURCE = "eng"
RETRIEVAL_TOP_K = (1, 10)

# A Taxi1500-like task (Taxi1500 has six Bible-verse topics): a UDHR paragraph is labelled with the theme of its
# article. Articles 28-30 (duties, international order, interpretation) are left out as too generic.
UDHR_TOPIC_CLASSES = {
    "equality_dignity": (1, 2, 7),
    "life_liberty_security": (3, 4, 5, 9),
    "law_justice": (6, 8, 10, 11),
    "private_civil_life": (12, 13, 14, 15, 16, 17),
    "thought_participation": (18, 19, 20, 21),
    "social_economic_cultural": (22, 23, 24, 25, 26, 27),
}
# Held-out text for the masked-LM evaluation: compare_baseline.py pretrains on the UDHR without these articles.
UDHR_HELDOUT_ARTICLES = (26, 27, 28, 29, 30)

# Languages the analysis pictures show when none are named: widely known languages across families and scripts.
ANALYSIS_LANGUAGES = tuple(
    """eng_Latn deu_Latn nld_Latn swe_Latn dan_Latn isl_Latn fra_Latn spa_Latn por_Latn ita_Latn ron_Latn cat_Latn
    rus_Cyrl ukr_Cyrl bul_Cyrl srp_Cyrl pol_Latn ces_Latn slv_Latn lit_Latn lav_Latn ell_Grek hye_Armn kat_Geor
    hin_Deva mar_Deva ben_Beng urd_Arab pes_Arab pus_Arab arb_Arab heb_Hebr amh_Ethi tur_Latn kaz_Cyrl uzb_Latn
    fin_Latn est_Latn hun_Latn cmn_Hani jpn_Jpan kor_Hang vie_Latn tha_Thai khm_Khmr ind_Latn tgl_Latn swh_Latn
    yor_Latn hau_Latn tam_Taml tel_Telu""".split()
)


# ----------------------------------------------------------------------------------------------------------------
# Loading checkpoints (ours, the authors' release format, stock XLM-R or any Hugging Face encoder)
# ----------------------------------------------------------------------------------------------------------------


def checkpoint_config(path):
    """The raw config.json dict of a checkpoint (local folder or cached Hub id)."""
    from transformers import PretrainedConfig

    config, _ = PretrainedConfig.get_config_dict(str(path))
    return config


def is_langsamp_checkpoint(path):
    """True for our checkpoints (`model_type: langsamp`) and the authors' release format (`lang_size` field)."""
    config = checkpoint_config(path)
    return config.get("model_type") == "langsamp" or "lang_size" in config


def is_langsamp_model(model):
    return getattr(model.config, "model_type", None) == "langsamp"


def load_model(path, kind="encoder", **kwargs):
    """Load a checkpoint for one use.

    kind: "encoder" (retrieval), "masked-lm", "sequence-classification" or "token-classification".
    LangSAMP checkpoints (ours or the release format) load with this checkout's classes, anything else
    (stock XLM-R, other encoders) with transformers' Auto classes. Attention is sdpa unless `kwargs` say otherwise.
    """
    kinds = ("encoder", "masked-lm", "sequence-classification", "token-classification")
    if kind not in kinds:
        raise ValueError(f"Unknown model kind {kind!r}: use one of {', '.join(kinds)}.")
    kwargs.setdefault("attn_implementation", "sdpa")
    if is_langsamp_checkpoint(path):
        import modeling_langsamp as ours

        cls = {
            "encoder": ours.LangSAMPModel,
            "masked-lm": ours.LangSAMPForMaskedLM,
            "sequence-classification": ours.LangSAMPForSequenceClassification,
            "token-classification": ours.LangSAMPForTokenClassification,
        }[kind]
    else:
        import transformers

        cls = {
            "encoder": transformers.AutoModel,
            "masked-lm": transformers.AutoModelForMaskedLM,
            "sequence-classification": transformers.AutoModelForSequenceClassification,
            "token-classification": transformers.AutoModelForTokenClassification,
        }[kind]
    if kind != "encoder":
        return cls.from_pretrained(str(path), **kwargs).eval()
    # A masked-LM checkpoint loaded as a bare encoder leaves its LM head out: expected, so the load report is muted.
    from transformers.utils import logging as transformers_logging

    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    if checkpoint_config(path).get("model_type") in ("langsamp", "xlm-roberta", "roberta", "bert"):
        kwargs.setdefault("add_pooling_layer", False)  # retrieval pools hidden states itself
    try:
        return cls.from_pretrained(str(path), **kwargs).eval()
    finally:
        transformers_logging.set_verbosity(verbosity)


def max_tokens(model, max_length):
    """`max_length` capped by the model's position table (RoBERTa-style models start positions at pad_id + 1)."""
    config = model.config
    positions = getattr(config, "max_position_embeddings", None)
    if positions is None:
        return max_length
    if getattr(config, "model_type", "") in ("langsamp", "xlm-roberta", "roberta"):
        positions -= (config.pad_token_id or 0) + 1
    return min(max_length, positions)


def load_tokenizer(path):
    """The checkpoint's tokenizer: LangSAMPTokenizer for XLM-R-family checkpoints (same ids as the stock one; it
    also emits language / script ids), else AutoTokenizer. A checkpoint folder without tokenizer files falls back
    to the offline XLM-R tokenizer (assets.default_tokenizer)."""
    from transformers import AutoTokenizer

    from tokenization_langsamp import LangSAMPTokenizer

    config = checkpoint_config(path)
    xlmr_family = config.get("model_type") in ("langsamp", "xlm-roberta")
    folder = Path(str(path))
    has_files = not folder.is_dir() or any(
        (folder / name).exists() for name in ("tokenizer.json", "tokenizer_config.json", "sentencepiece.bpe.model")
    )
    if xlmr_family and not has_files:
        from assets import default_tokenizer

        logger.warning("%s has no tokenizer files: using the offline XLM-R tokenizer (assets.default_tokenizer).", path)
        extra = {key: config[key] for key in ("languages", "scripts") if config.get(key)}
        return default_tokenizer(**extra)
    if xlmr_family:
        return LangSAMPTokenizer.from_pretrained(str(path))
    return AutoTokenizer.from_pretrained(str(path))


def _as_model(model, kind):
    return load_model(model, kind) if isinstance(model, (str, Path)) else model


def _as_tokenizer(tokenizer, model):
    if tokenizer is None:
        if isinstance(model, (str, Path)):
            return load_tokenizer(model)
        from assets import default_tokenizer

        config = model.config
        extra = {key: getattr(config, key) for key in ("languages", "scripts") if getattr(config, key, None)}
        return default_tokenizer(**extra)
    return load_tokenizer(tokenizer) if isinstance(tokenizer, (str, Path)) else tokenizer


# ----------------------------------------------------------------------------------------------------------------
# Corpora: any parallel corpus, and the offline UDHR defaults
# ----------------------------------------------------------------------------------------------------------------


def resolve_language(code, available, what="the corpus"):
    """Find `code` among `available` keys: exact (`deu_Latn`), or the only key of that language (`deu`)."""
    available = list(available)
    if code in available:
        return code
    prefixed = [key for key in available if key.split("_")[0] == code]
    if len(prefixed) == 1:
        return prefixed[0]
    if len(prefixed) > 1:
        raise ValueError(f"Language {code!r} is ambiguous in {what}: it has {', '.join(prefixed)}. Name one of them.")
    close = difflib.get_close_matches(code, available, n=5, cutoff=0.5)
    hint = f" Closest: {', '.join(close)}." if close else ""
    raise ValueError(f"Language {code!r} is not in {what} ({len(available)} languages).{hint}")


def udhr_translations(languages=None):
    from udhr import load_udhr

    return load_udhr(languages=languages)


def udhr_parallel_corpus(translations=None, include_preamble=True):
    """UDHR as a parallel corpus: label (`eng_Latn`) -> [preamble, article 1, ..., article 30], aligned by position.

    Each unit is a whole article (its paragraphs joined), since paragraph splits differ between translations.
    The candidate pool is small (31 units per language): top-10 is easy there, top-1 is the informative figure.
    """
    translations = udhr_translations() if translations is None else translations
    corpus = {}
    for label, t in translations.items():
        articles = t.article_texts()
        if any(n not in articles for n in range(1, 31)):
            continue
        units = ([" ".join(t.preamble)] if include_preamble and t.preamble else []) + [articles[n] for n in range(1, 31)]
        corpus[label] = units
    if include_preamble:  # keep the corpus aligned: drop translations without a preamble
        length = max(len(units) for units in corpus.values())
        corpus = {label: units for label, units in corpus.items() if len(units) == length}
    return corpus


def udhr_heldout_texts(translations=None, articles=UDHR_HELDOUT_ARTICLES):
    """label -> the paragraphs of `articles`: the masked-LM evaluation text (compare_baseline.py pretrains without it)."""
    translations = udhr_translations() if translations is None else translations
    return {
        label: [p for n in articles for p in t.articles.get(n, [])]
        for label, t in translations.items()
        if any(t.articles.get(n) for n in articles)
    }


def udhr_pretraining_paragraphs(translation, heldout_articles=UDHR_HELDOUT_ARTICLES):
    """A translation's paragraphs minus the held-out articles (the pretraining side of the masked-LM split)."""
    return translation.preamble + [
        p for n in sorted(translation.articles) if n not in heldout_articles for p in translation.articles[n]
    ]


def udhr_topic_classification(translations=None, source=DEFAULT_SOURCE, languages=None, classes=None, heldout_articles=None):
    """A Taxi1500-like task from the UDHR: classify a paragraph by the theme of its article.

    Returns (train, tests, label_names): `train` holds the source language's paragraphs, `tests` maps every
    other language (and the source, under its own label) to its paragraphs, as `datasets.Dataset`s with columns
    `text` and `label` (a ClassLabel).

    heldout_articles: None (default) trains on all of the source's paragraphs and tests on the same articles in
    the other languages (test texts are translations of the training texts: this measures cross-lingual
    transfer); a list of article numbers trains on the others and tests only on those (content-disjoint, as
    Taxi1500's verse split; every class must keep a training article).
    """
    import datasets

    classes = dict(classes or UDHR_TOPIC_CLASSES)
    translations = udhr_translations() if translations is None else translations
    source = resolve_language(source, translations, "the UDHR")
    chosen = list(translations) if languages is None else [resolve_language(c, translations, "the UDHR") for c in languages]
    if source not in chosen:
        chosen.insert(0, source)
    names = list(classes)
    article_class = {}
    for index, name in enumerate(names):
        for n in classes[name]:
            if n in article_class:
                raise ValueError(f"Article {n} is in two classes ({names[article_class[n]]}, {name}).")
            article_class[n] = index
    heldout = set(heldout_articles or ())
    if heldout:
        unknown = heldout - set(article_class)
        if unknown:
            raise ValueError(f"Held-out articles {sorted(unknown)} belong to no class; classes cover {sorted(article_class)}.")
        empty = [name for name in names if set(classes[name]) <= heldout]
        if empty:
            raise ValueError(f"Holding out {sorted(heldout)} leaves no training article for {', '.join(empty)}.")
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)})

    def rows(translation, keep):
        texts, labels = [], []
        for n, paragraphs in sorted(translation.articles.items()):
            if n in article_class and keep(n):
                texts += paragraphs
                labels += [article_class[n]] * len(paragraphs)
        return datasets.Dataset.from_dict({"text": texts, "label": labels}, features=features)

    train = rows(translations[source], lambda n: n not in heldout)
    test_articles = (lambda n: n in heldout) if heldout else (lambda n: True)
    tests = {label: rows(translations[label], test_articles) for label in chosen}
    tests = {label: ds for label, ds in tests.items() if len(ds)}
    return train, tests, names


def read_parallel_corpus(path):
    """A parallel corpus from disk: a JSON file {language: [sentences]} or a folder with one UTF-8 file per
    language (file name = language, one sentence a line, aligned by line: the SR-B / Tatoeba layout)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        corpus = {p.name.split(".")[0]: p.read_text(encoding="utf-8").rstrip("\n").split("\n") for p in files}
    elif path.is_file():
        corpus = json.loads(path.read_text(encoding="utf-8"))
    else:
        raise ValueError(f"Corpus {str(path)!r} does not exist: give a JSON file {{language: [sentences]}} or a folder of per-language files.")
    if not corpus:
        raise ValueError(f"Corpus {str(path)!r} holds no languages.")
    return corpus


# ----------------------------------------------------------------------------------------------------------------
# 1. Sentence retrieval (SR-B / SR-T)
# ----------------------------------------------------------------------------------------------------------------


def check_layer(model, layer):
    """Validate a hidden-state index against the model depth; return it as a non-negative index.

    `model`: a loaded model or a checkpoint path (its config.json is read, the weights are not loaded).
    hidden_states[0] is the embedding output and hidden_states[L] the last of the L layers' outputs.
    """
    if isinstance(model, (str, Path)):
        depth = checkpoint_config(model)["num_hidden_layers"]
    else:
        depth = model.config.num_hidden_layers
    if not isinstance(layer, int) or isinstance(layer, bool) or not -(depth + 1) <= layer <= depth:
        raise ValueError(
            f"Layer {layer!r} is out of range: this model has {depth} layers, so hidden_states has indices 0 "
            f"(the embeddings) to {depth} (the last layer). Pass --layer between 0 and {depth} (or -1 for the last); "
            f"the paper's default {DEFAULT_LAYER} needs a model with at least {DEFAULT_LAYER} layers."
        )
    return layer % (depth + 1)


@torch.no_grad()
def sentence_embeddings(model, tokenizer, texts, layer=DEFAULT_LAYER, batch_size=32, max_length=512):
    """Mean of `hidden_states[layer]` over all non-padding tokens (`<s>` and `</s>` included), `[len(texts), hidden]`.

    `layer` may also be a list of layers: then {layer: `[len(texts), hidden]`}, from one pass over the texts.
    Texts are batched by length (less padding); the order of the output follows `texts`.
    """
    layers = [check_layer(model, one) for one in (layer if isinstance(layer, (list, tuple)) else [layer])]
    max_length = max_tokens(model, max_length)
    encoder = model.base_model
    device = next(encoder.parameters()).device
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    output = {one: torch.empty(len(texts), model.config.hidden_size) for one in layers}
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        encoded = tokenizer([texts[i] for i in batch], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        mask = encoded["attention_mask"].to(device)
        states = encoder(input_ids=encoded["input_ids"].to(device), attention_mask=mask, output_hidden_states=True).hidden_states
        for one in layers:
            pooled = (states[one] * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            output[one][batch] = pooled.float().cpu()
    return output if isinstance(layer, (list, tuple)) else output[layers[0]]


def retrieval_accuracy(queries, candidates, top_k=RETRIEVAL_TOP_K):
    """Top-k accuracy of retrieving `candidates[i]` for `queries[i]` by cosine similarity.

    Ties are broken at random, in expectation: with `g` candidates scoring higher than the gold one and `e` others
    scoring equal, the gold is in the top k with probability clip((k - g) / (e + 1), 0, 1). A representation that
    carries no signal (all vectors equal) therefore scores exactly chance, k / n.
    """
    queries = F.normalize(torch.as_tensor(queries, dtype=torch.float64), dim=-1)
    candidates = F.normalize(torch.as_tensor(candidates, dtype=torch.float64), dim=-1)
    if queries.shape != candidates.shape:
        raise ValueError(f"Queries {tuple(queries.shape)} and candidates {tuple(candidates.shape)} must be aligned one to one.")
    similarity = queries @ candidates.T
    gold = similarity.diagonal()[:, None]
    higher = (similarity > gold).sum(1).double()
    equal = (similarity == gold).sum(1).double() - 1
    return {f"top{k}": ((k - higher) / (equal + 1)).clamp(0, 1).mean().item() for k in top_k}


def _check_parallel(corpus, source, languages):
    if not isinstance(corpus, dict) or not corpus:
        raise ValueError("The corpus must be a non-empty dict {language: [aligned sentences]}.")
    source = resolve_language(source, corpus)
    targets = [code for code in corpus if code != source] if languages is None else [resolve_language(c, corpus) for c in languages]
    targets = [code for code in dict.fromkeys(targets) if code != source]
    if not targets:
        raise ValueError(f"No target language besides the source {source!r}: the corpus has {', '.join(corpus)}.")
    n = len(corpus[source])
    for code in targets:
        if len(corpus[code]) != n:
            raise ValueError(
                f"The corpus is not aligned: {code!r} has {len(corpus[code])} sentences, the source {source!r} has {n}."
            )
    if n < 2:
        raise ValueError(f"The source {source!r} has {n} sentence(s): retrieval needs at least 2 candidates.")
    return source, targets, n


def sentence_retrieval(model, tokenizer=None, corpus=None, source=DEFAULT_SOURCE, languages=None, layer=DEFAULT_LAYER, top_k=RETRIEVAL_TOP_K, batch_size=32, max_length=512):
    """SR-B / SR-T: for every target language, each source (English) sentence retrieves its translation among all
    the target's sentences by cosine similarity of mean-pooled `hidden_states[layer]`.

    model: a checkpoint path or a loaded model (any `PreTrainedModel`; its encoder is used). corpus: dict
    language -> aligned sentences; default the UDHR (31 units a language). `layer` may be a list: then the
    result is {layer: result} from one pass over the texts. A result holds `per_language` ({lang: {top1, top10}}),
    `average` (over target languages) and the settings.
    """
    layers = [check_layer(model, one) for one in (layer if isinstance(layer, (list, tuple)) else [layer])]  # before loading
    model = _as_model(model, "encoder")
    tokenizer = _as_tokenizer(tokenizer, model)
    default_corpus = corpus is None
    corpus = udhr_parallel_corpus() if default_corpus else corpus
    source, targets, n = _check_parallel(corpus, source, languages)
    model.eval()
    embed = lambda texts: sentence_embeddings(model, tokenizer, texts, layers, batch_size, max_length)  # noqa: E731
    queries = embed(corpus[source])
    per_layer = {one: {} for one in layers}
    for code in tqdm(targets, desc=f"retrieval (layer{'s' if len(layers) > 1 else ''} {', '.join(map(str, layers))})", unit="lang"):
        candidates = embed(corpus[code])
        for one in layers:
            per_layer[one][code] = retrieval_accuracy(queries[one], candidates[one], top_k)
    note = f"{n} candidates per language: chance top-k is k/{n}."
    if any(5 * k >= n for k in top_k):  # chance of 20% or more
        note += f" Top-{max(top_k)} over {n} candidates is easy; top-1 is the informative figure."
    results = {
        one: {
            "task": "retrieval",
            "corpus": "udhr" if default_corpus else "custom",
            "source": source,
            "layer": one,
            "candidates": n,
            "per_language": per_language,
            "average": {f"top{k}": float(np.mean([r[f"top{k}"] for r in per_language.values()])) for k in top_k},
            "note": note,
        }
        for one, per_language in per_layer.items()
    }
    return results if isinstance(layer, (list, tuple)) else results[layers[0]]


# ----------------------------------------------------------------------------------------------------------------
# 2. Zero-shot cross-lingual fine-tuning (stock Trainer)
# ----------------------------------------------------------------------------------------------------------------


def load_metric(name):
    """A local `evaluate` metric module from metrics/ (nothing loads from the Hub)."""
    import evaluate

    return evaluate.load(str(METRICS_DIR / name))


def _label_names(dataset, column, task):
    feature = dataset.features[column]
    inner = getattr(feature, "feature", None) if task == "token" else feature
    if inner is not None and hasattr(inner, "names"):
        return list(inner.names)
    values = dataset[column]
    flat = [v for seq in values for v in seq] if task == "token" else list(values)
    if all(isinstance(v, str) for v in flat):
        return sorted(set(flat))
    raise ValueError(
        f"Column {column!r} holds integer labels without names: pass `label_names` (the class names in id order)."
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
    labels = dict(num_labels=len(label_names), id2label=dict(enumerate(label_names)), label2id={n: i for i, n in enumerate(label_names)})
    if isinstance(model, (str, Path)):
        return load_model(model, kind, **labels).train()
    head = "ForSequenceClassification" if task == "sequence" else "ForTokenClassification"
    if type(model).__name__.endswith(head) and model.config.num_labels == len(label_names):
        return model.train()
    # Any other loaded model (a masked LM, say): go through disk, as a user would with a checkpoint.
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        return load_model(folder, kind, **labels).train()


def zero_shot_transfer(
    model,
    tokenizer=None,
    train_dataset=None,
    test_datasets=None,
    task="sequence",
    label_names=None,
    text_column=None,
    label_column=None,
    source=None,
    output_dir=None,
    num_train_epochs=10,
    max_steps=-1,
    learning_rate=2e-5,
    batch_size=16,
    eval_batch_size=64,
    max_length=256,
    seed=42,
    **training_args,
):
    """Fine-tune on `train_dataset` (the source language) with the stock Trainer; test on each of `test_datasets`.

    task: "sequence" (columns `text` / `label` by default; metrics accuracy and macro-F1, the paper's Taxi1500 /
    SIB-200 metric) or "token" (`tokens` / `ner_tags`; the first sub-token of each word carries its label, the
    other sub-tokens -100; entity-level seqeval-style F1 and token accuracy, from metrics/span_f1).
    model: a checkpoint path or a loaded model (a task model is used as given, anything else gets a fresh head).
    Defaults: the UDHR topic task, trained on English. Returns `per_language` metrics, `average` over the test
    languages other than the source, and `source_metrics` (the source's own test set).
    """
    import datasets
    from transformers import DataCollatorForTokenClassification, DataCollatorWithPadding, Trainer, TrainingArguments

    if task not in ("sequence", "token"):
        raise ValueError(f"Unknown task {task!r}: use 'sequence' (text classification) or 'token' (tagging).")
    default_task = train_dataset is None
    if default_task:
        if task != "sequence":
            raise ValueError("The offline default (UDHR topics) is a sequence task: pass train/test datasets for tagging.")
        train_dataset, test_datasets, label_names = udhr_topic_classification(source=source or DEFAULT_SOURCE)
    if not test_datasets:
        raise ValueError("Give `test_datasets`: a dict {language: Dataset} with the same columns as the training set.")
    text_column = text_column or ("text" if task == "sequence" else "tokens")
    label_column = label_column or ("label" if task == "sequence" else "ner_tags")
    for name, ds in [("train", train_dataset)] + list(test_datasets.items()):
        missing = [c for c in (text_column, label_column) if c not in ds.column_names]
        if missing:
            raise ValueError(f"Dataset {name!r} lacks column(s) {missing}; it has {ds.column_names}. Set text_column / label_column.")
    label_names = list(label_names) if label_names is not None else _label_names(train_dataset, label_column, task)
    label_to_id = {name: i for i, name in enumerate(label_names)}
    if source is None:
        source = next((code for code in test_datasets if code.split("_")[0] == DEFAULT_SOURCE), None)
    elif source not in test_datasets:
        source = next((code for code in test_datasets if code.split("_")[0] == source), source)

    tokenizer = _as_tokenizer(tokenizer, model)
    model = _task_model(model, task, label_names)
    max_length = max_tokens(model, max_length)

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

    languages = list(test_datasets)
    tests = [ds.add_column("__language", [i] * len(ds)) for i, ds in enumerate(test_datasets.values())]
    test = datasets.concatenate_datasets(tests)
    train = train_dataset.map(encode, batched=True, remove_columns=train_dataset.column_names, desc="tokenize train")
    test_languages = np.asarray(test["__language"])
    test = test.map(encode, batched=True, remove_columns=test.column_names, desc="tokenize test")

    collator = DataCollatorWithPadding(tokenizer) if task == "sequence" else DataCollatorForTokenClassification(tokenizer)
    own_dir = output_dir is None
    output_dir = tempfile.mkdtemp(prefix="langsamp-zero-shot-") if own_dir else output_dir
    args = TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=eval_batch_size,
        learning_rate=learning_rate,
        num_train_epochs=num_train_epochs,
        max_steps=max_steps,
        seed=seed,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        logging_steps=training_args.pop("logging_steps", 10),
        dataloader_pin_memory=training_args.pop("dataloader_pin_memory", torch.cuda.is_available()),
        **training_args,
    )
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=collator, processing_class=tokenizer)
    train_output = trainer.train()
    predictions = trainer.predict(test)
    if own_dir:
        import shutil

        shutil.rmtree(output_dir, ignore_errors=True)

    logits, gold = predictions.predictions, predictions.label_ids
    predicted = logits.argmax(-1)
    metric = load_metric("accuracy_f1" if task == "sequence" else "span_f1")
    per_language = {}
    for index, code in enumerate(languages):
        rows = np.flatnonzero(test_languages == index)
        if task == "sequence":
            # Macro-F1 over the classes present in the references or predictions (sklearn's default): a test set that
            # holds only some classes (held-out articles) is not penalised for the absent ones.
            per_language[code] = metric.compute(predictions=predicted[rows].tolist(), references=gold[rows].tolist())
        else:
            pred_tags, gold_tags = [], []
            for row in rows:
                keep = gold[row] != -100
                pred_tags.append([label_names[i] for i in predicted[row][keep]])
                gold_tags.append([label_names[i] for i in gold[row][keep]])
            per_language[code] = metric.compute(predictions=pred_tags, references=gold_tags)
    main_metric = "macro_f1" if task == "sequence" else "f1"
    others = [code for code in languages if code != source]
    names = list(next(iter(per_language.values())))
    average = {name: float(np.mean([per_language[c][name] for c in others])) for name in names} if others else {}
    note = "Zero-shot: trained on the source language only; the average leaves the source out."
    if default_task:
        note += (
            " UDHR topic task: test paragraphs are translations of the English training paragraphs, so the source's "
            "own figure is training accuracy."
        )
    return {
        "task": "classification" if task == "sequence" else "tagging",
        "metric": main_metric,
        "source": source,
        "labels": label_names,
        "train_examples": len(train),
        "train_loss": float(train_output.training_loss),
        "steps": int(train_output.global_step),
        "test_examples": {code: int((test_languages == i).sum()) for i, code in enumerate(languages)},
        "source_metrics": per_language.get(source),
        "per_language": {code: per_language[code] for code in others},
        "average": average,
        "note": note,
    }


# ----------------------------------------------------------------------------------------------------------------
# 3. Masked-LM quality
# ----------------------------------------------------------------------------------------------------------------


def _needs_ids(model):
    tables = getattr(model, "language_script_embeddings", None)
    return tables is not None and (tables.language_embeddings is not None or tables.script_embeddings is not None)


def _masked_log_probs(model, input_ids, attention_mask, selected, lang_ids=None, script_ids=None):
    """Log-probabilities `[n_selected, vocab]` at the `selected` positions (row-major), running the LM head only there."""
    if is_langsamp_model(model):  # with labels, our head runs only on labelled positions
        labels = torch.where(selected, input_ids, torch.full_like(input_ids, -100))
        logits = model(input_ids=input_ids, attention_mask=attention_mask, lang_ids=lang_ids, script_ids=script_ids, labels=labels).logits
    elif hasattr(model, "lm_head"):  # stock XLM-R / RoBERTa: same saving by hand
        hidden = model.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        logits = model.lm_head(hidden[selected])
    else:
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[selected]
    return torch.log_softmax(logits.float(), dim=-1)


def _language_rows(tokenizer, code):
    """Check that the tokenizer can give ids for `code` (a UDHR label like `hin_Deva` or an ISO code)."""
    tokenizer.language_id(code)
    parts = code.split("_")
    if len(parts) == 2 and len(parts[1]) == 4:
        tokenizer.script_id(parts[1])


@torch.no_grad()
def masked_lm_quality(model, tokenizer=None, corpus=None, languages=None, mask_probability=0.15, mask_rounds=1, pseudo_perplexity=True, max_sentences=16, max_length=128, batch_size=32, seed=0):
    """Masked-token accuracy, masked-token perplexity and pseudo-perplexity per language on held-out text.

    masked accuracy / perplexity: `mask_probability` of the non-special tokens (at least one a sentence, fixed
    seed) become `<mask>` at once, as in pretraining; accuracy is the share predicted exactly, perplexity
    exp(mean cross-entropy) over them. `mask_rounds` independent draws are pooled (less noise, one forward per
    sentence and round). pseudo-perplexity (Salazar et al., 2020): every token is
    masked in turn (one copy of the sentence per token, batched) and PPPL = exp(-mean log p(token)); it costs one
    forward per token, hence `max_sentences`. LangSAMP models get each sentence's language / script ids from the
    tokenizer (`lang=<label>`); stock masked LMs need none. Default corpus: the UDHR's held-out articles.
    """
    model = _as_model(model, "masked-lm")
    tokenizer = _as_tokenizer(tokenizer, model)
    if not (0 < mask_probability < 1):
        raise ValueError(f"mask_probability={mask_probability} must be in (0, 1).")
    corpus = udhr_heldout_texts() if corpus is None else corpus
    max_length = max_tokens(model, max_length)
    needs_ids = _needs_ids(model)
    if needs_ids:
        if not hasattr(tokenizer, "language_id"):
            raise ValueError("This LangSAMP model needs language / script ids: use the LangSAMP tokenizer.")
        if list(getattr(tokenizer, "languages", [])) != list(model.config.languages) or list(tokenizer.scripts) != list(model.config.scripts):
            raise ValueError("The tokenizer's language / script inventories differ from the model config's: their ids would not match.")
    skipped = []
    if languages is None:
        chosen = list(corpus)
        if needs_ids:
            kept = []
            for code in chosen:
                try:
                    _language_rows(tokenizer, code)
                    kept.append(code)
                except ValueError:
                    skipped.append(code)
            chosen = kept
    else:
        chosen = [resolve_language(code, corpus) for code in languages]
        if needs_ids:
            for code in chosen:
                try:
                    _language_rows(tokenizer, code)
                except ValueError as error:
                    raise ValueError(f"Cannot evaluate {code!r} with this model: {error}") from error
    if not chosen:
        raise ValueError("No language of the corpus is in the model's inventory.")
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    mask_id = tokenizer.mask_token_id
    per_language = {}
    for code in tqdm(chosen, desc="masked LM", unit="lang"):
        texts = [t for t in corpus[code] if t.strip()][:max_sentences]
        encoded = tokenizer(texts, lang=code, truncation=True, max_length=max_length) if needs_ids else tokenizer(texts, truncation=True, max_length=max_length)
        special = [tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True) for ids in encoded["input_ids"]]
        ids_of = lambda key, i: encoded[key][i][0] if key in encoded else None  # noqa: E731 (one id a sentence)
        sentences = [
            (torch.tensor(ids), torch.tensor(spec, dtype=torch.bool), ids_of("lang_ids", i), ids_of("script_ids", i))
            for i, (ids, spec) in enumerate(zip(encoded["input_ids"], special))
        ]
        sentences = [s for s in sentences if (~s[1]).any()]
        # Masked-token accuracy: several positions masked at once, as in pretraining (all -> <mask>).
        correct = total = 0
        log_likelihood = 0.0
        rounds = [(start, r) for r in range(mask_rounds) for start in range(0, len(sentences), batch_size)]
        for start, _ in rounds:
            chunk = sentences[start : start + batch_size]
            inputs, selected, langs, scripts = [], [], [], []
            for ids, spec, lang, script in chunk:
                draw = (torch.rand(len(ids), generator=generator) < mask_probability) & ~spec
                if not draw.any():  # at least one masked token a sentence
                    candidates = (~spec).nonzero().flatten()
                    draw[candidates[torch.randint(len(candidates), (1,), generator=generator)]] = True
                inputs.append((ids, draw))
                langs.append(lang)
                scripts.append(script)
            batch_ids, batch_mask, batch_sel = _pad_batch([ids for ids, _ in inputs], [d for _, d in inputs], tokenizer.pad_token_id)
            gold = batch_ids[batch_sel]
            masked = batch_ids.masked_fill(batch_sel, mask_id)
            log_probs = _masked_log_probs(model, masked.to(device), batch_mask.to(device), batch_sel.to(device), *_id_tensors(langs, scripts, device, needs_ids))
            correct += (log_probs.argmax(-1).cpu() == gold).sum().item()
            log_likelihood += log_probs.gather(1, gold.to(device)[:, None]).sum().item()
            total += gold.numel()
        result = {
            "masked_accuracy": correct / total if total else float("nan"),
            "masked_perplexity": math.exp(-log_likelihood / total) if total else float("nan"),
            "masked_tokens": total,
        }
        if pseudo_perplexity:
            result.update(_pseudo_perplexity(model, tokenizer, sentences, batch_size, device, needs_ids))
        per_language[code] = result
    names = [name for name in ("masked_accuracy", "masked_perplexity", "pseudo_perplexity") if name in next(iter(per_language.values()))]
    average = {name: float(np.mean([r[name] for r in per_language.values()])) for name in names}
    for name in ("masked_perplexity", "pseudo_perplexity"):  # a geometric mean is the natural average of perplexities
        if name in average:
            average[f"{name}_geomean"] = float(np.exp(np.mean([math.log(r[name]) for r in per_language.values()])))
    note = f"Up to {max_sentences} sentences a language, {max_length} tokens each."
    if skipped:
        note += f" {len(skipped)} languages of the corpus are outside the model's inventory and were skipped."
    return {"task": "mlm", "per_language": per_language, "average": average, "skipped": skipped, "note": note}


def _pad_batch(rows, selections, pad_id):
    length = max(len(r) for r in rows)
    ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    selected = torch.zeros((len(rows), length), dtype=torch.bool)
    for i, (row, sel) in enumerate(zip(rows, selections)):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
        selected[i, : len(row)] = sel
    return ids, mask, selected


def _id_tensors(langs, scripts, device, needs_ids):
    if not needs_ids:
        return None, None
    as_tensor = lambda values: None if values[0] is None else torch.tensor(values, device=device)  # noqa: E731
    return as_tensor(langs), as_tensor(scripts)


def _pseudo_perplexity(model, tokenizer, sentences, batch_size, device, needs_ids):
    """exp(-mean log p(token | sentence with that token masked)) over every non-special token of `sentences`."""
    copies = [(index, position) for index, (ids, spec, _, _) in enumerate(sentences) for position in (~spec).nonzero().flatten().tolist()]
    total_log_prob = 0.0
    for start in range(0, len(copies), batch_size):
        chunk = copies[start : start + batch_size]
        rows, selections, langs, scripts = [], [], [], []
        for index, position in chunk:
            ids, _, lang, script = sentences[index]
            selection = torch.zeros(len(ids), dtype=torch.bool)
            selection[position] = True
            rows.append(ids)
            selections.append(selection)
            langs.append(lang)
            scripts.append(script)
        batch_ids, batch_mask, batch_sel = _pad_batch(rows, selections, tokenizer.pad_token_id)
        gold = batch_ids[batch_sel]
        masked = batch_ids.masked_fill(batch_sel, tokenizer.mask_token_id)
        log_probs = _masked_log_probs(model, masked.to(device), batch_mask.to(device), batch_sel.to(device), *_id_tensors(langs, scripts, device, needs_ids))
        total_log_prob += log_probs.gather(1, gold.to(device)[:, None]).sum().item()
    return {"pseudo_perplexity": math.exp(-total_log_prob / len(copies)) if copies else float("nan"), "scored_tokens": len(copies)}


# ----------------------------------------------------------------------------------------------------------------
# 4. Language and script embeddings
# ----------------------------------------------------------------------------------------------------------------


NO_LANGUAGE_TABLE = (
    "{what} has no learned language embeddings ({why}). The analysis needs a LangSAMP masked-LM checkpoint "
    "pretrained with the language table (use_lang_embedding=True); the paper's baseline, stock XLM-R and "
    "fine-tuned task heads have none."
)


def _embedding_model(model):
    """A loaded model that has a language table, or a clear ValueError (checked before loading a path)."""
    if isinstance(model, (str, Path)):
        config = checkpoint_config(model)
        if not is_langsamp_checkpoint(model):
            raise ValueError(NO_LANGUAGE_TABLE.format(what=f"Checkpoint {str(model)!r}", why=f"model_type {config.get('model_type')!r} is not LangSAMP"))
        if config.get("use_lang_embedding", True) is False:
            raise ValueError(NO_LANGUAGE_TABLE.format(what=f"Checkpoint {str(model)!r}", why="use_lang_embedding=False"))
        model = load_model(model, "masked-lm")
    tables = getattr(model, "language_script_embeddings", None)
    if tables is None or tables.language_embeddings is None:
        why = "use_lang_embedding=False" if tables is not None else f"{type(model).__name__} carries no LangSAMP tables"
        raise ValueError(NO_LANGUAGE_TABLE.format(what="This model", why=why))
    return model


def _language_codes(model, languages):
    from langsamp_codes import parse_language

    inventory = list(model.config.languages)
    if languages is None:
        return inventory
    return list(dict.fromkeys(parse_language(code, inventory)[0] for code in languages))


def language_similarity(model, languages=None):
    """Cosine similarities between learned language embeddings: (codes, `[n, n]` numpy array).
    `languages` takes any code the tokenizer accepts (`hi`, `hin_Deva`); default all of the model's."""
    model = _embedding_model(model)
    codes = _language_codes(model, languages)
    vectors = F.normalize(model.language_embedding(codes).float(), dim=-1)
    return codes, (vectors @ vectors.T).numpy()


def script_similarity(model, scripts=None):
    """Cosine similarities between learned script embeddings: (codes, `[n, n]` numpy array)."""
    model = _embedding_model(model)
    if model.language_script_embeddings.script_embeddings is None:
        raise ValueError("This model has no script embeddings (use_script_embedding=False).")
    codes = list(model.config.scripts) if scripts is None else list(scripts)
    vectors = F.normalize(model.script_embedding(codes).float(), dim=-1)
    return codes, (vectors @ vectors.T).numpy()


def nearest_languages(model, lang, k=5, candidates=None):
    """The `k` languages whose embeddings are most cosine-similar to `lang`'s: [(iso639_3, similarity)], best first."""
    from langsamp_codes import parse_language

    model = _embedding_model(model)
    target = parse_language(lang, list(model.config.languages))[0]
    pool = [code for code in _language_codes(model, candidates) if code != target]
    if not pool:
        raise ValueError(f"No candidate language besides {target!r}.")
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r} must be a positive integer.")
    vectors = F.normalize(model.language_embedding([target] + pool).float(), dim=-1)
    scores = (vectors[1:] @ vectors[0]).tolist()
    ranked = sorted(zip(pool, scores), key=lambda item: -item[1])
    return [(code, float(score)) for code, score in ranked[:k]]


def recommend_source_languages(model, target, k=5, candidates=None):
    """Rank candidate source languages for zero-shot transfer to `target` by the cosine similarity of their learned
    language embeddings (the paper's use of the table): [(iso639_3, similarity)], best first.

    candidates: the languages you have training data in (e.g. ["eng", "deu", "rus", "hin", "cmn", "arb"]); default
    every language of the model.
    """
    return nearest_languages(model, target, k=k, candidates=candidates)


# Colours dark enough to read as label text on white, the most distinct first (tab10, then the darker tab20b/c).
SCRIPT_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#111111", "#e6550d", "#31a354", "#756bb1", "#636363",
    "#5254a3", "#8ca252", "#bd9e39", "#ad494a", "#a55194", "#6baed6", "#fd8d3c", "#74c476", "#9e9ac8", "#969696",
)


def _script_colours(codes, named=None):
    """Each language's script and a colour per script, most frequent first. The script is the one its label
    named (`jpn_Jpan`), else the language's most frequent script in Glot500-c (langsamp_inventory.DEFAULT_SCRIPT;
    note that this is `Latn` for Japanese, whose romanised text outnumbers the rest there)."""
    from langsamp_inventory import DEFAULT_SCRIPT

    named = named or {}
    scripts = [named.get(code) or DEFAULT_SCRIPT.get(code, "?") for code in codes]
    ordered = sorted(set(scripts), key=lambda s: (-scripts.count(s), s))
    colour = {script: SCRIPT_PALETTE[i % len(SCRIPT_PALETTE)] for i, script in enumerate(ordered)}
    return scripts, colour, ordered


def _language_names(codes):
    """`code (Name)` labels where a name is known to `langcodes`, else the code (the package is optional)."""
    try:
        import langcodes
    except ImportError:
        return list(codes)
    labels = []
    for code in codes:
        try:
            name = langcodes.Language.get(code).display_name()
            labels.append(code if name.lower().startswith("unknown") else f"{code} ({name})")
        except Exception:  # noqa: BLE001 - a label is cosmetic
            labels.append(code)
    return labels


def plot_language_embeddings(model, plot_dir, languages=None, max_languages=60, title=None):
    """Write PNG pictures of the learned language embeddings into `plot_dir`:

    - `language_similarity_heatmap.png`: cosine similarities, rows ordered by hierarchical clustering;
    - `language_map_pca.png`: the languages on the first two principal components, coloured by script;
    - `language_dendrogram.png`: average-linkage clustering on cosine distance, labels coloured by script;
    - `script_similarity_heatmap.png` when the model has a script table.
    languages: which languages to show (default: ANALYSIS_LANGUAGES present in the model); at most `max_languages`.
    Returns {name: Path}.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from scipy.cluster.hierarchy import dendrogram, leaves_list, linkage
    from scipy.spatial.distance import squareform
    from sklearn.decomposition import PCA

    from langsamp_codes import parse_language

    model = _embedding_model(model)
    inventory = list(model.config.languages)
    if languages is None:
        languages = [label for label in ANALYSIS_LANGUAGES if label.split("_")[0] in inventory] or inventory
    named = {}
    for code in languages:
        language, script = parse_language(code, inventory)
        named.setdefault(language, script)
    codes, similarity = language_similarity(model, languages)
    if len(codes) < 3:
        raise ValueError(f"Pictures need at least 3 languages, got {codes}.")
    if len(codes) > max_languages:
        logger.warning("Showing the first %d of %d languages (max_languages).", max_languages, len(codes))
        codes, similarity = codes[:max_languages], similarity[:max_languages, :max_languages]
    plot_dir = Path(plot_dir)
    plot_dir.mkdir(parents=True, exist_ok=True)
    scripts, colour, legend_order = _script_colours(codes, named)
    labels = _language_names(codes)
    legend = [Line2D([], [], marker="o", linestyle="", color=colour[s], label=s) for s in legend_order]
    title = title or "LangSAMP language embeddings"
    written = {}
    n = len(codes)

    distance = np.clip(1 - similarity, 0, None)
    np.fill_diagonal(distance, 0)
    tree = linkage(squareform((distance + distance.T) / 2, checks=False), method="average")
    order = leaves_list(tree)

    # Heatmap, clustered order so that groups show as blocks; the diagonal (always 1) is greyed out so that the colour
    # scale spans the off-diagonal similarities.
    side = max(6.0, 0.3 * n + 2.5)
    fig, ax = plt.subplots(figsize=(side + 1.5, side))
    shown = similarity[np.ix_(order, order)].astype(float)
    np.fill_diagonal(shown, np.nan)
    limit = float(np.nanmax(np.abs(shown))) or 1.0
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#d9d9d9")
    image = ax.imshow(shown, cmap=cmap, vmin=-limit, vmax=limit)
    if n <= 16:  # few enough cells to print the values
        for i in range(n):
            for j in range(n):
                if i != j:
                    ax.text(j, i, f"{shown[i, j]:.2f}", ha="center", va="center", fontsize=8,
                            color="white" if abs(shown[i, j]) > 0.6 * limit else "black")
    ax.set_xticks(range(n), [codes[i] for i in order], rotation=90, fontsize=9)
    ax.set_yticks(range(n), [labels[i] for i in order], fontsize=9)
    for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
        for tick, i in zip(ticks, order):
            tick.set_color(colour[scripts[i]])
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="cosine similarity (diagonal greyed out)")
    ax.set_title(f"{title}: cosine similarity\n(clustered order; labels coloured by script)", fontsize=12)
    ax.legend(handles=legend, title="script", loc="upper left", bbox_to_anchor=(1.25, 1.0), fontsize=9, frameon=False)
    fig.tight_layout()
    written["heatmap"] = plot_dir / "language_similarity_heatmap.png"
    fig.savefig(written["heatmap"], dpi=130, bbox_inches="tight")
    plt.close(fig)

    # 2-D map: PCA of the unit-normalised vectors (cosine geometry).
    vectors = F.normalize(model.language_embedding(codes).float(), dim=-1).numpy()
    pca = PCA(n_components=2).fit(vectors)
    points = pca.transform(vectors)
    fig, ax = plt.subplots(figsize=(10, 8))
    for script in legend_order:
        members = [i for i in range(n) if scripts[i] == script]
        ax.scatter(points[members, 0], points[members, 1], s=60, color=colour[script], label=script, edgecolor="white", linewidth=0.6, zorder=3)
    for i, code in enumerate(codes):
        ax.annotate(code, points[i], xytext=(4, 3), textcoords="offset points", fontsize=9, color="#222222")
    variance = pca.explained_variance_ratio_ * 100
    ax.set_xlabel(f"PC 1 ({variance[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC 2 ({variance[1]:.0f}% of variance)")
    ax.set_title(f"{title}: 2-D map (PCA), coloured by script", fontsize=12)
    ax.grid(alpha=0.3)
    ax.legend(title="script", loc="best", fontsize=9)
    fig.tight_layout()
    written["map"] = plot_dir / "language_map_pca.png"
    fig.savefig(written["map"], dpi=130)
    plt.close(fig)

    # Dendrogram.
    fig, ax = plt.subplots(figsize=(8, max(5.0, 0.28 * n + 1.5)))
    dendrogram(tree, labels=labels, orientation="left", ax=ax, color_threshold=0, above_threshold_color="#555555", leaf_font_size=9)
    for tick in ax.get_yticklabels():
        code = tick.get_text().split(" ")[0]
        tick.set_color(colour[scripts[codes.index(code)]])
    ax.set_xlabel("cosine distance (average linkage)")
    ax.set_title(f"{title}: hierarchical clustering\n(labels coloured by script)", fontsize=12)
    fig.tight_layout()
    # Below the axes: the leaf labels take the space on the right.
    fig.legend(handles=legend, title="script", loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(8, len(legend)), fontsize=9, frameon=False)
    written["dendrogram"] = plot_dir / "language_dendrogram.png"
    fig.savefig(written["dendrogram"], dpi=130, bbox_inches="tight")
    plt.close(fig)

    if model.language_script_embeddings.script_embeddings is not None:
        script_codes, script_sim = script_similarity(model)
        m = len(script_codes)
        fig, ax = plt.subplots(figsize=(0.32 * m + 3, 0.32 * m + 2.5))
        image = ax.imshow(script_sim, cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(range(m), script_codes, rotation=90, fontsize=9)
        ax.set_yticks(range(m), script_codes, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="cosine similarity")
        ax.set_title(f"{title}: script embeddings", fontsize=12)
        fig.tight_layout()
        written["scripts"] = plot_dir / "script_similarity_heatmap.png"
        fig.savefig(written["scripts"], dpi=130)
        plt.close(fig)
    return written


# ----------------------------------------------------------------------------------------------------------------
# Reporting and CLI
# ----------------------------------------------------------------------------------------------------------------


def _format(value):
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_format(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def result_table(result, percent=True):
    """A per-language markdown table of an evaluation result, with the average as the last row."""
    per_language = result["per_language"]
    names = [n for n in next(iter(per_language.values())) if not n.endswith("_tokens")]
    scale = lambda name, v: v * 100 if percent and "perplexity" not in name and isinstance(v, float) else v  # noqa: E731
    rows = [[code] + [scale(n, r[n]) for n in names] for code, r in per_language.items()]
    rows.append(["**average**"] + [scale(n, result["average"].get(n, float("nan"))) for n in names])
    return markdown_table(["language"] + names, rows)


def _write(result, output):
    text = result_table(result)
    print(text)
    if result.get("note"):
        print(f"\n{result['note']}")
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nwritten: {output}")


def _load_split(spec):
    import datasets

    path = Path(spec)
    if path.is_dir():
        return datasets.load_from_disk(str(path))
    builder = {".json": "json", ".jsonl": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet"}.get(path.suffix)
    if builder is None or not path.exists():
        raise ValueError(f"Dataset {spec!r}: give an existing .json/.jsonl/.csv/.tsv/.parquet file or a save_to_disk folder.")
    extra = {"delimiter": "\t"} if path.suffix == ".tsv" else {}
    return datasets.load_dataset(builder, data_files=str(path), split="train", **extra)


def _corpus_arg(value, heldout=False):
    if value in (None, "udhr"):
        return udhr_heldout_texts() if heldout else udhr_parallel_corpus()
    return read_parallel_corpus(value)


def build_parser():
    parser = argparse.ArgumentParser(prog="langsamp_eval.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--model", required=True, help="checkpoint folder (LangSAMP, release format, or stock XLM-R)")
        p.add_argument("--tokenizer", default=None, help="tokenizer folder (default: the model's; else the offline XLM-R one)")
        p.add_argument("--languages", nargs="+", default=None, help="languages to evaluate (default: all of the corpus)")
        p.add_argument("--output", default=None, help="write the result as JSON here")

    p = sub.add_parser("retrieval", help="SR-B / SR-T sentence retrieval (top-1 / top-10)")
    common(p)
    p.add_argument("--corpus", default="udhr", help="'udhr' (default), a JSON {lang: [sentences]} or a folder of aligned per-language files")
    p.add_argument("--source", default=DEFAULT_SOURCE, help="query language (default eng)")
    p.add_argument("--layer", type=int, default=DEFAULT_LAYER, help="hidden_states index to pool (0 = embeddings; default 8)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=512)

    p = sub.add_parser("classify", help="zero-shot cross-lingual fine-tuning (sequence or token classification)")
    common(p)
    p.add_argument("--task", choices=("sequence", "token"), default="sequence")
    p.add_argument("--train", default=None, help="training set of the source language (default: UDHR topics in English)")
    p.add_argument("--test", nargs="+", default=None, metavar="LANG=PATH", help="test sets, one per language")
    p.add_argument("--text-column", default=None)
    p.add_argument("--label-column", default=None)
    p.add_argument("--source", default=None, help="source language (default eng)")
    p.add_argument("--heldout-articles", type=int, nargs="+", default=None, help="UDHR topics: test only on these articles (content-disjoint)")
    p.add_argument("--epochs", type=float, default=10)
    p.add_argument("--max-steps", type=int, default=-1)
    p.add_argument("--learning-rate", type=float, default=2e-5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--seed", type=int, default=42)

    p = sub.add_parser("mlm", help="masked-token accuracy and pseudo-perplexity per language")
    common(p)
    p.add_argument("--corpus", default="udhr", help="'udhr' (held-out articles 26-30, default) or per-language texts as for retrieval")
    p.add_argument("--max-sentences", type=int, default=16)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--mask-probability", type=float, default=0.15)
    p.add_argument("--mask-rounds", type=int, default=1, help="independent mask draws pooled for the masked figures")
    p.add_argument("--no-pseudo-perplexity", action="store_true")
    p.add_argument("--batch-size", type=int, default=32)

    p = sub.add_parser("embeddings", help="language / script embedding analysis and pictures")
    p.add_argument("--model", required=True)
    p.add_argument("--languages", nargs="+", default=None, help="languages for the pictures and the similarity table")
    p.add_argument("--plot-dir", default=None, help="write PNG pictures here")
    p.add_argument("--max-languages", type=int, default=60)
    p.add_argument("--nearest", nargs="+", default=[], metavar="LANG", help="print the nearest languages of these")
    p.add_argument("--recommend", nargs="+", default=[], metavar="TARGET", help="recommend source languages for these targets")
    p.add_argument("--candidates", nargs="+", default=None, help="restrict --nearest and --recommend to these languages (default: all of the model's)")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--output", default=None)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "retrieval":
        result = sentence_retrieval(
            args.model, args.tokenizer, None if args.corpus == "udhr" else read_parallel_corpus(args.corpus),
            source=args.source, languages=args.languages, layer=args.layer, batch_size=args.batch_size, max_length=args.max_length,
        )
        print(f"Sentence retrieval, layer {result['layer']}, queries in {result['source']}, {result['candidates']} candidates a language (accuracy, %):")
        _write(result, args.output)
    elif args.command == "classify":
        if args.train:
            if not args.test:
                raise SystemExit("--train needs --test LANG=PATH ...")
            tests = {}
            for spec in args.test:
                lang, sep, path = spec.partition("=")
                if not sep:
                    raise SystemExit(f"--test {spec!r}: write LANG=PATH.")
                tests[lang] = _load_split(path)
            train = _load_split(args.train)
            labels = None
        else:
            if args.task != "sequence":
                raise SystemExit("The offline default task (UDHR topics) is a sequence task: pass --train / --test for tagging.")
            train, tests, labels = udhr_topic_classification(source=args.source or DEFAULT_SOURCE, languages=args.languages, heldout_articles=args.heldout_articles)
        result = zero_shot_transfer(
            args.model, args.tokenizer, train, tests, task=args.task, label_names=labels, text_column=args.text_column,
            label_column=args.label_column, source=args.source, num_train_epochs=args.epochs, max_steps=args.max_steps,
            learning_rate=args.learning_rate, batch_size=args.batch_size, max_length=args.max_length, seed=args.seed,
        )
        if not args.train:
            result["note"] += (
                f" UDHR topic task: articles {args.heldout_articles} held out of training (content-disjoint test)."
                if args.heldout_articles
                else " UDHR topic task: test paragraphs are translations of the English training paragraphs, so the "
                "source's own figure is training accuracy."
            )
        print(f"Zero-shot transfer from {result['source']} ({result['train_examples']} training examples, {result['steps']} steps); %:")
        if result["source_metrics"]:
            print("source: " + ", ".join(f"{k} {v * 100:.2f}" for k, v in result["source_metrics"].items()))
        _write(result, args.output)
    elif args.command == "mlm":
        corpus = _corpus_arg(args.corpus, heldout=True)
        result = masked_lm_quality(
            args.model, args.tokenizer, corpus, languages=args.languages, mask_probability=args.mask_probability, mask_rounds=args.mask_rounds,
            pseudo_perplexity=not args.no_pseudo_perplexity, max_sentences=args.max_sentences, max_length=args.max_length, batch_size=args.batch_size,
        )
        print("Masked-LM quality (masked accuracy in %, perplexities):")
        _write(result, args.output)
    elif args.command == "embeddings":
        model = _embedding_model(args.model)
        result = {"task": "embeddings", "nearest": {}, "recommend": {}}
        for lang in args.nearest:
            result["nearest"][lang] = nearest_languages(model, lang, args.k, args.candidates)
            print(f"nearest to {lang}: " + ", ".join(f"{c} {s:.3f}" for c, s in result["nearest"][lang]))
        for lang in args.recommend:
            result["recommend"][lang] = recommend_source_languages(model, lang, args.k, args.candidates)
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
            Path(args.output).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
