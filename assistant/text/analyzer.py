"""Tokenisation for lexical search: jieba with the domain dictionary, synonyms, stop words."""

from __future__ import annotations

import re

import jieba

from assistant.knowledge.models import Lexicon
from assistant.text.jieba_dictionary import standard_tokenizer
from assistant.text.normalize import normalize

_WORD_RE = re.compile(r"[\w\u4e00-\u9fff]")


def own_tokenizer() -> jieba.Tokenizer:
    """A jieba tokenizer of its own (words added to it stay in it) over jieba's standard dictionary, copied from
    the process-wide tokenizer, which reads the dictionary once for every analyzer and the name tagger."""
    standard = standard_tokenizer()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total = dict(standard.FREQ), standard.total
    tokenizer.initialized = True
    return tokenizer


class Analyzer:
    """Turns text into search tokens. One jieba tokenizer per analyzer (no global dictionary)."""

    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon
        self._jieba = own_tokenizer()
        for word, freq, tag in lexicon.userdict:
            self._jieba.add_word(word, freq, tag)
        self._expansions: list[tuple[str, str]] = []
        for formal, forms in lexicon.synonyms.items():
            self._jieba.add_word(formal)
            for form in forms:
                self._jieba.add_word(form)
                self._expansions.append((form, formal))
        # longest colloquial form first so 出去以后 wins over 出去
        self._expansions.sort(key=lambda pair: -len(pair[0]))

    def expand(self, text: str) -> list[str]:
        """Formal terms for the colloquial forms found in normalised `text`."""
        found: list[str] = []
        for form, formal in self._expansions:
            if form in text and formal not in found and formal not in text:
                found.append(formal)
        return found

    def words(self, text: str) -> list[str]:
        """jieba search-mode words of normalised text, without stop words and punctuation."""
        stop = self.lexicon.stopwords
        return [w for w in self._jieba.lcut_for_search(text) if w.strip() and w not in stop and _WORD_RE.search(w)]

    def tokens(self, text: str, expand: bool = True) -> list[str]:
        """Tokens for BM25: the words of the text, plus the words of any formal synonyms."""
        norm = normalize(text)
        out = self.words(norm)
        if expand:
            for formal in self.expand(norm):
                out += self.words(formal)
        return out
