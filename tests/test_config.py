"""Settings: data and knowledge beside the code in the source tree, in the current directory when installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core import config
from assistant.core.config import REPO_ROOT, Settings, source_checkout


def test_the_source_tree_keeps_its_own_data_and_knowledge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    for name in ("BANGJIAO_DATA_DIR", "BANGJIAO_KNOWLEDGE_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert source_checkout()
    settings = Settings()
    assert (settings.data_dir, settings.knowledge_dir) == (REPO_ROOT / "data", REPO_ROOT / "knowledge")


def test_installed_the_defaults_are_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    site = tmp_path / "site-packages"  # where an installed `assistant` sits: no pyproject.toml, no knowledge/
    site.mkdir()
    assert not source_checkout(site)
    monkeypatch.setattr(config, "REPO_ROOT", site)
    monkeypatch.chdir(tmp_path)
    for name in ("BANGJIAO_DATA_DIR", "BANGJIAO_KNOWLEDGE_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.data_dir, settings.knowledge_dir) == (tmp_path / "data", tmp_path / "knowledge")
    monkeypatch.setenv("BANGJIAO_KNOWLEDGE_DIR", str(tmp_path / "corpus"))
    assert Settings().knowledge_dir == tmp_path / "corpus"
