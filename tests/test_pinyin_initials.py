"""Pinyin initials of place names, kept in the cache folder between starts."""

import json

from assistant.knowledge.pinyin_initials import FILE, initials, initials_of


def test_initials_read_polyphones_by_phrase():
    assert initials("湘潭") == "xt"
    assert initials("长沙") == "cs"  # 长 read cháng in the name, not zhǎng
    assert initials("涟源市") == "lys"


def test_table_is_kept_and_reused(tmp_path, monkeypatch):
    assert initials_of(["湘潭", "涟源"], tmp_path) == {"湘潭": "xt", "涟源": "ly"}
    assert json.loads((tmp_path / FILE).read_text(encoding="utf-8")) == {"湘潭": "xt", "涟源": "ly"}
    (tmp_path / FILE).write_text(json.dumps({"湘潭": "zz"}), encoding="utf-8")  # proves the file is read
    assert initials_of(["湘潭"], tmp_path) == {"湘潭": "zz"}
    assert initials_of(["湘潭", "宁乡"], tmp_path) == {"湘潭": "zz", "宁乡": "nx"}  # only new names spelt
    assert json.loads((tmp_path / FILE).read_text(encoding="utf-8")) == {"湘潭": "zz", "宁乡": "nx"}


def test_broken_or_unwritable_cache_still_answers(tmp_path):
    (tmp_path / FILE).write_text("{not json", encoding="utf-8")
    assert initials_of(["开福"], tmp_path) == {"开福": "kf"}
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    assert initials_of(["宁乡"], blocked) == {"宁乡": "nx"}  # cache folder cannot exist: computed, not kept
    assert initials_of(["宁乡"], None) == {"宁乡": "nx"}
