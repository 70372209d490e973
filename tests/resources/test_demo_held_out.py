"""The demo is probed on text it never trained on: its corpus is written without the UDHR articles its fill-mask and
retrieval probes use, and the retrieval probe's units are exactly those articles."""

from langsamp.resources.demo import FILL_MASK_PROBES, HELD_OUT_ARTICLES, held_out_units, without_held_out
from langsamp.resources.udhr import write_glot500_corpus


def test_the_demo_corpus_holds_none_of_the_probed_articles(tmp_path, udhr_translations):
    labels = ["eng_Latn", "rus_Cyrl", "hin_Deva", "deu_Latn"]
    written = write_glot500_corpus({label: without_held_out(udhr_translations[label]) for label in labels}, tmp_path)
    units = held_out_units(labels)
    for label in labels:
        text = (written / label).read_text(encoding="utf-8")
        articles = udhr_translations[label].articles
        assert all(p not in text for n in HELD_OUT_ARTICLES for p in articles[n])
        assert all(p in text for p in articles[2])  # the rest is still there
        # the retrieval units are the held-out articles, in order, paragraphs joined
        assert units[label] == [" ".join(articles[n]) for n in HELD_OUT_ARTICLES]
    # the fill-mask sentences come from article 1, which is held out
    assert 1 in HELD_OUT_ARTICLES
    english = dict(FILL_MASK_PROBES)["eng_Latn"].replace("<mask>", "rights")
    assert english in " ".join(udhr_translations["eng_Latn"].articles[1])
