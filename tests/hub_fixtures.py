"""Tiny local copies of the evaluation datasets' Hub repos, laid out like them (../shared/notes/hub-datasets.md):
a README.md whose YAML `configs:` names each config's data files, the data files at the repos' paths, the same
columns and label encodings. `datasets.load_dataset(folder, config, split=...)` reads them the way it reads the Hub
repo, so langsamp/evaluation/tasks.py takes the same code path as with the real id. The rows are whatever a test passes."""

from pathlib import Path

import datasets
import yaml

from langsamp.evaluation.tasks import UPOS_TAGS, WIKIANN_TAGS


def _readme(root, configs, pretty_name):
    """README.md with `configs: [{config_name, data_files: [{split, path}]}]`."""
    meta = {"pretty_name": pretty_name, "configs": [
        {"config_name": name, "data_files": [{"split": split, "path": path} for split, path in files.items()]}
        for name, files in configs.items()
    ]}
    (root / "README.md").write_text(f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n# {pretty_name} (test fixture)\n", encoding="utf-8")


def _parquet(path, rows, features):
    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(path))


def sib200(root, languages):
    """Davlan/sib200: `data/<lang_Script>/{train,dev,test}.tsv`, columns index_id, category (string), text.
    languages: {config: {split: [(category, text)]}} with split in train / validation / test."""
    root = Path(root)
    configs = {}
    for config, splits in languages.items():
        configs[config] = {}
        for split, rows in splits.items():
            name = {"validation": "dev"}.get(split, split)
            path = root / "data" / config / f"{name}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            lines = ["index_id\tcategory\ttext"] + [f"{i}\t{category}\t{text}" for i, (category, text) in enumerate(rows)]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            configs[config][split] = f"data/{config}/{name}.tsv"
    _readme(root, configs, "SIB-200")
    return root


def _tagging(root, languages, column, names, config_name, pretty_name, extra):
    root = Path(root)
    tags = datasets.Sequence(datasets.ClassLabel(names=list(names)))
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")), column: tags, **extra})
    configs = {}
    for code, splits in languages.items():
        config = config_name(code)
        configs[config] = {}
        for split, rows in splits.items():
            relative = f"{config}/{split}-00000-of-00001.parquet"
            data = {"tokens": [t for t, _ in rows], column: [[names.index(tag) for tag in tags_] for _, tags_ in rows]}
            if "langs" in extra:
                data["langs"] = [[code] * len(t) for t, _ in rows]
                data["spans"] = [[] for _ in rows]
            _parquet(root / relative, data, features)
            configs[config][split] = relative
    _readme(root, configs, pretty_name)
    return root


def wikiann(root, languages):
    """unimelb-nlp/wikiann: `<code>/<split>-00000-of-00001.parquet`, columns tokens, ner_tags (ClassLabel 0 O,
    1 B-PER, ... 6 I-LOC), langs, spans. languages: {wikipedia code: {split: [(tokens, tag strings)]}}."""
    extra = {"langs": datasets.Sequence(datasets.Value("string")), "spans": datasets.Sequence(datasets.Value("string"))}
    return _tagging(root, languages, "ner_tags", WIKIANN_TAGS, lambda code: code, "WikiANN", extra)


def xtreme_udpos(root, languages):
    """google/xtreme's udpos configs: `udpos.<Language>/<split>-00000-of-00001.parquet`, columns tokens,
    pos_tags (ClassLabel, the 17 UPOS tags). languages: {language name: {split: [(tokens, tag strings)]}}."""
    return _tagging(root, languages, "pos_tags", UPOS_TAGS, lambda name: f"udpos.{name}", "XTREME", {})


def tatoeba(root, pairs):
    """mteb/tatoeba-bitext-mining: one config per `<iso639-3>-eng`, split test, `sentence1` the non-English side,
    `sentence2` the English one. pairs: {iso639-3: [(sentence1, sentence2)]}."""
    root = Path(root)
    features = datasets.Features({"sentence1": datasets.Value("string"), "sentence2": datasets.Value("string")})
    configs = {}
    for code, rows in pairs.items():
        relative = f"{code}-eng/tatoeba-bitext-mining-test.parquet"
        _parquet(root / relative, {"sentence1": [a for a, _ in rows], "sentence2": [b for _, b in rows]}, features)
        configs[f"{code}-eng"] = {"test": relative}
    _readme(root, configs, "Tatoeba bitext mining")
    return root


def flores_plus(root, languages):
    """openlanguagedata/flores_plus: configs `<iso639-3>_<Script>`, splits dev / devtest at
    `<split>/<config>.parquet`, aligned by `id`. languages: {config: [(id, text)]} (written as devtest)."""
    root = Path(root)
    features = datasets.Features({"id": datasets.Value("int32"), "iso_639_3": datasets.Value("string"),
                                  "iso_15924": datasets.Value("string"), "text": datasets.Value("string")})
    configs = {}
    for config, rows in languages.items():
        lang, script = config.split("_")
        relative = f"devtest/{config}.parquet"
        _parquet(root / relative, {"id": [i for i, _ in rows], "iso_639_3": [lang] * len(rows), "iso_15924": [script] * len(rows),
                                   "text": [t for _, t in rows]}, features)
        configs[config] = {"devtest": relative}
    _readme(root, configs, "FLORES+")
    return root


def taxi1500(root, languages):
    """The release's Taxi1500 files: header-less `id<TAB>label<TAB>verse`, `<lang>/<lang>_<split>.tsv`.
    languages: {language: {split: [(label, verse)]}} with split in train / dev / test."""
    root = Path(root)
    for code, splits in languages.items():
        for split, rows in splits.items():
            path = root / code / f"{code}_{split}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{i}\t{label}\t{verse}\n" for i, (label, verse) in enumerate(rows)), encoding="utf-8")
    return root
