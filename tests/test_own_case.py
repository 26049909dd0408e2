"""The own-case model: scored in plain Python exactly as scikit-learn scores it, saved and loaded, and combined
with the patterns (either one flags a question)."""

import json

import numpy as np
import pytest
from helpers import KNOWLEDGE, knowledge_of

from assistant.text.own_case import OwnCaseModel, char_ngrams, fit, model_path
from assistant.text.signals import SignalDetector

OWN = ["我的减刑啥时候批下来", "俺的假释报上去没有", "我卡上还有多少钱", "帮我查查我的档案", "我那案子能改判不",
       "我啥时候能放出去", "我家低保批了没", "我这个季度考核分够不够"]
GENERAL = ["出狱后医保怎么办", "坐过牢能考驾照吗", "低保怎么申请", "减刑需要什么条件", "出来后怎么找工作",
           "我出去后能开网约车吗", "假释期间能出省吗", "我坐过牢孩子能当兵吗"]


def test_char_ngrams_as_scikit_learn_makes_them():
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyzer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3)).build_analyzer()
    for text in ("我的减刑  啥时候批", "ＡＢ医保", "a"):
        assert char_ngrams(text) == analyzer(text)


def test_probability_equals_scikit_learns():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, labels = OWN + GENERAL, [True] * len(OWN) + [False] * len(GENERAL)
    model = fit(texts, labels)
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    clf = LogisticRegression(C=64.0, max_iter=5000, class_weight="balanced").fit(vec.fit_transform(texts), labels)
    probes = ["我的假释什么时候批", "出狱后怎么找工作", "完全没见过的字句", "减刑"]
    expected = clf.predict_proba(vec.transform(probes))[:, 1]
    assert np.allclose([model.probability(p) for p in probes], expected, atol=1e-9)


def test_saved_and_loaded_model_scores_the_same(tmp_path):
    model = fit(OWN + GENERAL, [True] * len(OWN) + [False] * len(GENERAL), threshold=0.8)
    path = model_path(tmp_path / "calibration.json")
    assert path.name == "calibration.own-case.json"
    assert OwnCaseModel.load(path) is None  # none fitted yet: the patterns alone decide
    model.save(path)
    loaded = OwnCaseModel.load(path)
    assert loaded is not None and loaded.threshold == 0.8
    for text in OWN + GENERAL + ["别的问题"]:
        assert loaded.probability(text) == pytest.approx(model.probability(text), abs=1e-5)
    raw = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**raw, "ngrams": [1, 2]}), encoding="utf-8")
    with pytest.raises(ValueError, match="assistant calibrate"):
        OwnCaseModel.load(path)


def test_one_kind_of_question_cannot_be_fitted():
    with pytest.raises(ValueError):
        fit(GENERAL, [False] * len(GENERAL))


def test_either_the_patterns_or_the_model_flag_a_question():
    signals = knowledge_of(KNOWLEDGE).lexicon.signals
    plain = SignalDetector(signals)
    text = "那笔钱我到底拿得回来不"  # no pattern catches it
    assert not plain.run(text).individual_case
    assert SignalDetector(signals, lambda t: t == text).run(text).individual_case
    assert SignalDetector(signals, lambda t: False).run("我的减刑什么时候批").individual_case  # a pattern still does
