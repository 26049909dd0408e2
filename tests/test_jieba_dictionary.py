"""jieba's dictionary cache read in one go: same content as jieba's own reading, clear fallbacks."""

import marshal

import jieba

from assistant.text.jieba_dictionary import cache_path, read_cache, standard_tokenizer


def test_read_cache_returns_what_jieba_wrote(tmp_path):
    path = tmp_path / "jieba.cache"
    with open(path, "wb") as f:  # the way jieba writes it: marshal.dump of (FREQ, total)
        marshal.dump(({"出狱": 3, "出": 1, "狱": 0}, 4), f)
    assert read_cache(str(path)) == ({"出狱": 3, "出": 1, "狱": 0}, 4)


def test_missing_or_broken_cache_is_none(tmp_path, caplog):
    assert read_cache(str(tmp_path / "absent.cache")) is None
    broken = tmp_path / "broken.cache"
    broken.write_bytes(b"\x00not marshal")
    assert read_cache(str(broken)) is None
    other = tmp_path / "other.cache"
    other.write_bytes(marshal.dumps(["a list", 1]))
    assert read_cache(str(other)) is None
    assert "rebuilding" in caplog.text


def test_cache_path_only_for_the_default_dictionary(tmp_path):
    default = jieba.Tokenizer()
    default.tmp_dir = str(tmp_path)
    assert cache_path(default) == str(tmp_path / "jieba.cache")
    custom = jieba.Tokenizer(str(tmp_path / "dict.txt"))
    assert cache_path(custom) is None


def test_standard_tokenizer_equals_jiebas_own_loading():
    dt = standard_tokenizer()
    path = cache_path(dt)
    assert dt.initialized and path is not None
    with open(path, "rb") as f:  # jieba's own way of reading its cache
        freq, total = marshal.load(f)
    assert freq == dt.FREQ and dt.total == total
    assert jieba.lcut("出狱后医保怎么办") == ["出狱", "后", "医保", "怎么办"]
