"""Own-case questions ("我的减刑啥时候批", "我卡上还有多少钱") recognised by a small learned model beside the
hand-written patterns of lexicon/signals.yaml.

The patterns catch the forms someone thought of; people ask about their own file in many more. A logistic
regression over character 1–3-grams (TF-IDF, as scikit-learn's `TfidfVectorizer(analyzer="char")`) is fitted by
`assistant calibrate` on the calibration set only: own-case questions against every other non-crisis question.
A question is own-case when the patterns match *or* the model is very sure (`threshold`, high, so general
questions worded with 我 stay answerable). Scoring is plain Python over the saved weights: scikit-learn is
needed only to fit.

Measured when it was added (session 7): fitted on the first 410 calibration questions, it took the patterns'
recall on the 25 own-case questions written afterwards from 0.60 to 0.76, flagging none of the 110 answerable
ones.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

NGRAMS = (1, 3)
C = 64.0  # inverse regularisation strength (chosen on the calibration set, see the module docstring)
THRESHOLD = 0.9  # probability above which the model alone flags a question
_SPACES = re.compile(r"\s\s+")


def char_ngrams(text: str, low: int = NGRAMS[0], high: int = NGRAMS[1]) -> list[str]:
    """Character n-grams as scikit-learn's char analyzer makes them (lower case, runs of white space as one)."""
    text = _SPACES.sub(" ", text.lower())
    return [text[i:i + n] for n in range(low, high + 1) for i in range(len(text) - n + 1)]


@dataclass(frozen=True)
class OwnCaseModel:
    """Weights of the fitted model: n-gram → (idf, coefficient); intercept; the flagging threshold."""

    weights: dict[str, tuple[float, float]]
    intercept: float
    threshold: float = THRESHOLD

    def probability(self, text: str) -> float:
        """How sure the model is that `text` (normalised) asks about the asker's own case."""
        counts = Counter(g for g in char_ngrams(text) if g in self.weights)
        if not counts:
            return 1 / (1 + math.exp(-self.intercept))
        values = {g: (1 + math.log(n)) * self.weights[g][0] for g, n in counts.items()}  # sublinear tf × idf
        norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
        score = self.intercept + sum(v / norm * self.weights[g][1] for g, v in values.items())
        return 1 / (1 + math.exp(-score))

    def __call__(self, text: str) -> bool:
        return self.probability(text) >= self.threshold

    def save(self, path: Path) -> None:
        data = {"ngrams": list(NGRAMS), "intercept": self.intercept, "threshold": self.threshold,
                "weights": {g: [round(i, 6), round(c, 6)] for g, (i, c) in sorted(self.weights.items())}}
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> OwnCaseModel | None:
        """The saved model, or None when there is none (the patterns alone decide)."""
        if not path.exists():
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
        if tuple(raw.get("ngrams", ())) != NGRAMS:
            raise ValueError(f"{path}: 字符 n 元组范围不符 (fitted with other n-grams), 请重新运行 assistant calibrate")
        return cls({g: (float(i), float(c)) for g, (i, c) in raw["weights"].items()}, float(raw["intercept"]),
                   float(raw.get("threshold", THRESHOLD)))


def fit(texts: Sequence[str], own_case: Sequence[bool], threshold: float = THRESHOLD, c: float = C) -> OwnCaseModel:
    """Fit the model on normalised texts labelled own-case or not (scikit-learn, deterministic)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    if len(set(own_case)) < 2:
        raise ValueError("需要既有本人案情问题、也有其他问题才能训练 (both kinds of question are needed)")
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, sublinear_tf=True)
    matrix = vectorizer.fit_transform(list(texts))
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    model.fit(matrix, list(own_case))
    coef = model.coef_[0]
    weights = {g: (float(vectorizer.idf_[j]), float(coef[j])) for g, j in vectorizer.vocabulary_.items()}
    return OwnCaseModel(weights, float(model.intercept_[0]), threshold)


def model_path(calibration_path: Path) -> Path:
    """Where the model fitted with a calibration file is kept: beside it, calibration.own-case.json."""
    return calibration_path.with_name(f"{calibration_path.stem}.own-case.json")
