"""Evaluation of LangSAMP checkpoints (and stock XLM-R) with the paper's protocols, and analyses of what the
language / script tables learned. `langsamp.evaluation.cli` is the command line (`langsamp-eval`; `python
langsamp_eval.py` in a checkout) and re-exports the functions below in one import.

* `tasks`, `languages`          the named Hub tasks (SIB-200, Taxi1500, WikiANN, UD POS, Tatoeba, FLORES) and
                                language codes, head / tail groups;
* `retrieval`, `transfer`       sentence retrieval; zero-shot cross-lingual fine-tuning (`metrics/`: local
                                `evaluate` metrics);
* `mlm_quality`                 masked-token accuracy and perplexity per language;
* `language_neutrality`         cross-language cosine per layer and a language-ID probe;
* `embedding_analysis`, `source_selection`, `uriel_similarity`
                                the language table: nearest languages, source-language choice, agreement with URIEL;
* `compare_baseline`            LangSAMP against the baseline over seeds;
* `corpora`, `models`, `report`, `arguments`
                                the UDHR and parallel corpora, loading checkpoints, tables and JSON, checks of flags.
"""
