"""The parser on real bounces: every expected address found, none wrongly, each in the right class."""

from __future__ import annotations

from pathlib import Path

import pytest

from poplist.bounces.corpus import evaluate

CORPUS = Path(__file__).parent / "corpus"


@pytest.mark.parametrize("name", ["flufl", "poplist"])
def test_corpus_figures_do_not_regress(name):
    figures = evaluate(CORPUS / name)
    assert figures.problems == []
    assert figures.wrong == 0
    assert figures.attributed_share >= 0.97
    assert figures.classified_share == 1.0
    assert figures.categories_right == figures.categories_expected
