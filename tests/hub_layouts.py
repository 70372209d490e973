"""Tiny local copies of the per-pair Hub corpora, laid out file for file like the real repos
(../shared/notes/hub-datasets.md), built from real UDHR text:

* HuggingFaceFW/fineweb-2: `data/<pair>/train/*.parquet` and `data/<pair>/test/*.parquet`, one README YAML config
  per pair (plus a `<pair>_removed` config, as fineweb-2 has for its filtered-out documents), columns `text` and
  fineweb-2's metadata columns; no `dataset_info` (sizes then come from the files).
* cis-lmu/Glot500: `<pair>/train/` holding Arrow shards as `save_to_disk` writes them (data-0000x-of-0000n.arrow,
  dataset_info.json, state.json), one README YAML config per pair reading `<pair>/train/*.arrow`, column `text`,
  with `dataset_info` giving each config's rows and bytes.

`datasets.load_dataset(folder, "<pair>")` reads these exactly as it reads the Hub repo; without the README they are
plain snapshots (a folder per pair).
"""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Dataset

FINEWEB2_COLUMNS = ("id", "dump", "url", "date", "file_path", "language", "language_score", "language_script",
                    "minhash_cluster_size", "top_langs")


def _yaml_list(items):
    return "\n".join(items)


def write_fineweb2_layout(lines_by_pair, root, test_lines_by_pair=None, rows_per_shard=40, removed_config=True):
    """fineweb-2's layout: every pair's train lines as Parquet shards of `rows_per_shard` rows (with metadata
    columns), its test lines (default: the train lines reversed) under test/. Names without a script (`hi`) make
    MADLAD-400-style configs."""
    root = Path(root)
    configs = []
    for label, lines in lines_by_pair.items():
        lang, _, script = label.partition("_")
        splits = {"train": lines, "test": (test_lines_by_pair or {}).get(label, list(reversed(lines)))}
        for split, rows in splits.items():
            folder = root / "data" / label / split
            folder.mkdir(parents=True, exist_ok=True)
            for k, start in enumerate(range(0, len(rows), rows_per_shard)):
                part = rows[start : start + rows_per_shard]
                table = pa.table({
                    "text": part,
                    "id": [f"<urn:uuid:{label}-{split}-{start + i}>" for i in range(len(part))],
                    "dump": ["CC-MAIN-2024-10"] * len(part),
                    "url": [f"https://example.org/{label}/{start + i}" for i in range(len(part))],
                    "date": ["2024-02-20T00:00:00Z"] * len(part),
                    "file_path": ["s3://commoncrawl/crawl-data/CC-MAIN-2024-10/segment.warc.gz"] * len(part),
                    "language": [lang] * len(part),
                    "language_score": [0.99] * len(part),
                    "language_script": [script] * len(part),
                    "minhash_cluster_size": [1] * len(part),
                    "top_langs": ['{"%s_%s_score": 0.99}' % (lang, script)] * len(part),
                })
                pq.write_table(table, folder / f"{k:03d}_00000.parquet")
        configs.append(
            f"- config_name: {label}\n  data_files:\n  - split: train\n    path: data/{label}/train/*\n"
            f"  - split: test\n    path: data/{label}/test/*"
        )
    # fineweb-2 also publishes each pair's filtered-out documents as `<pair>_removed`: not a pair config.
    if removed_config:
        first = next(iter(lines_by_pair))
        removed = root / "data" / f"{first}_removed" / "train"
        removed.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"text": ["removed document"]}), removed / "000_00000.parquet")
        configs.append(f"- config_name: {first}_removed\n  data_files:\n  - split: train\n    path: data/{first}_removed/train/*")
    (root / "README.md").write_text(
        "---\nlicense: odc-by\ntask_categories:\n- text-generation\nconfigs:\n" + _yaml_list(configs)
        + "\n---\n# FineWeb2 (test copy)\n",
        encoding="utf-8",
    )
    return root


def write_glot500_layout(lines_by_pair, root, shards=2):
    """cis-lmu/Glot500's layout: every pair a `save_to_disk` folder `<pair>/train/` of `shards` Arrow shards."""
    root = Path(root)
    configs, infos = [], []
    for label, lines in lines_by_pair.items():
        folder = root / label / "train"
        dataset = Dataset.from_dict({"text": lines})
        dataset.save_to_disk(str(folder), num_shards=shards)
        num_bytes = dataset.data.nbytes
        configs.append(f"- config_name: {label}\n  data_files:\n  - split: train\n    path: {label}/train/*.arrow")
        infos.append(
            f"- config_name: {label}\n  features:\n  - name: text\n    dtype: string\n  splits:\n  - name: train\n"
            f"    num_bytes: {num_bytes}\n    num_examples: {len(lines)}\n  download_size: {num_bytes}\n"
            f"  dataset_size: {num_bytes}"
        )
    (root / "README.md").write_text(
        "---\nlicense: other\nconfigs:\n" + _yaml_list(configs) + "\ndataset_info:\n" + _yaml_list(infos)
        + "\n---\n# Glot500 (test copy)\n",
        encoding="utf-8",
    )
    return root
