"""Domain adaptation of the encoder on the knowledge base's own wordings (contrastive fine-tuning, CPU).

Training pairs come only from approved FAQ entries (never from a labelled test or calibration set):
each colloquial wording → its entry's question, and the question → question + answer, each with a hard
negative from another entry of the same topic. Local entries are repeated so county wordings weigh more.
Training runs through sentence-transformers' own trainer (MultipleNegativesRankingLoss, batches without
duplicate texts so an entry's other wordings never act as its negatives), seeded, word embeddings frozen.
The result is cached under a folder named by the hash of the base model, the pairs and the recipe, so a
rebuild with unchanged knowledge reuses it and new bureau-published entries lead to a retrain.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.knowledge.models import NATIONAL_CODE, FaqEntry

log = logging.getLogger(__name__)
POINTER = "adapted.json"  # in the cache folder: which adapted model is in use
SHORT = 64  # characters: longer positives are question + answer keys, batched apart
MIN_TRIPLETS = 200  # fewer wordings than this (a test or a new install's stub) adapt nothing: the base is used


@dataclass(frozen=True)
class Recipe:
    """Training settings; part of the cache key, so changing one retrains."""

    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 3e-5
    warmup_ratio: float = 0.1
    max_seq_length: int = 128
    local_repeat: int = 2  # county and provincial entries appear this many times
    wordings_per_entry: int = 6  # at most this many wordings of an entry per pass (CPU time grows with pairs)
    seed: int = 20250419
    version: int = 1


@dataclass(frozen=True)
class Triplet:
    anchor: str  # encoded as a query
    positive: str  # encoded as a passage
    negative: str  # encoded as a passage


def training_triplets(entries: Iterable[FaqEntry], recipe: Recipe = Recipe()) -> list[Triplet]:
    """Deterministic (anchor, positive, hard negative) triplets from approved FAQ entries."""
    entries = sorted((e for e in entries if e.status == "approved"), key=lambda e: e.id)
    by_topic: dict[str, list[FaqEntry]] = {}
    for e in entries:
        for t in e.topics:
            by_topic.setdefault(t, []).append(e)
    rng = random.Random(recipe.seed)
    out: list[Triplet] = []
    for e in entries:
        pool = [o for t in e.topics for o in by_topic.get(t, []) if o.id != e.id and o.question != e.question]
        if not pool:  # a topic of its own: any other entry is a negative
            pool = [o for o in entries if o.id != e.id and o.question != e.question]
        if not pool:
            continue
        repeat = 1 if e.region == NATIONAL_CODE else recipe.local_repeat
        wordings = [w for w in dict.fromkeys(e.paraphrases) if w != e.question]
        for _ in range(repeat):
            chosen = rng.sample(wordings, min(len(wordings), recipe.wordings_per_entry or len(wordings)))
            for wording in chosen:
                out.append(Triplet(wording, e.question, rng.choice(pool).question))
            other = rng.choice(pool)
            out.append(Triplet(e.question, answer_key(e), answer_key(other)))
    return out


def answer_key(e: FaqEntry) -> str:
    """The search key that joins an entry's question and answer (as `assistant.index.items.faq_item`)."""
    return f"{e.question} {e.answer}"


def cache_key(base_fingerprint: str, triplets: list[Triplet], recipe: Recipe) -> str:
    """Hash of everything the adapted model depends on."""
    digest = hashlib.sha256()
    digest.update(base_fingerprint.encode())
    digest.update(json.dumps(asdict(recipe), sort_keys=True).encode())
    for t in triplets:
        digest.update(f"{t.anchor}\x1f{t.positive}\x1f{t.negative}\x1e".encode())
    return digest.hexdigest()[:16]


def adapted_model(base_dir: Path, base_fingerprint: str, entries: Iterable[FaqEntry], cache_dir: Path,
                  recipe: Recipe = Recipe(), progress: Callable[[str], None] = lambda _m: None) -> Path:
    """The adapted model folder for these entries, trained on first use and cached by hash."""
    triplets = training_triplets(entries, recipe)
    key = cache_key(base_fingerprint, triplets, recipe)
    target = cache_dir / f"adapted-{key}"
    if (target / "adaptation.json").exists():
        return target
    progress(f"用知识库的 {len(triplets)} 组问法训练检索模型（一次，约几分钟）(adapting the encoder)…")
    tmp = cache_dir / f".adapted-{key}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    stats = train(base_dir, triplets, tmp, recipe)
    (tmp / "adaptation.json").write_text(json.dumps(
        {"base": base_fingerprint, "recipe": asdict(recipe), "triplets": len(triplets), **stats},
        ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    for old in cache_dir.glob("adapted-*"):  # keep the newest only: each is ~470 MB
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return target


def current_model(base_dir: Path, base_fingerprint: str, entries: Iterable[FaqEntry], cache_dir: Path,
                  retrain: bool = False, recipe: Recipe = Recipe(),
                  progress: Callable[[str], None] = lambda _m: None) -> Path:
    """The model folder to encode with: the adapted model last chosen (kept across restarts, so a restart
    after a bureau publishes an entry does not retrain), or — when there is none yet, or `retrain` asks it
    to follow the knowledge (an explicit `assistant index build`) — the one for these entries.
    Too few wordings to learn from: the base model itself."""
    if not retrain:
        pointed = read_pointer(cache_dir, base_fingerprint)
        if pointed is not None:
            return pointed
    triplets = training_triplets(entries, recipe)
    if len(triplets) < MIN_TRIPLETS:
        return base_dir
    folder = adapted_model(base_dir, base_fingerprint, entries, cache_dir, recipe, progress)
    (cache_dir / POINTER).write_text(json.dumps({"base": base_fingerprint, "folder": folder.name}), encoding="utf-8")
    return folder


def read_pointer(cache_dir: Path, base_fingerprint: str) -> Path | None:
    """The adapted model recorded as in use, if it is still there and was made from this base model."""
    try:
        data = json.loads((cache_dir / POINTER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    folder = cache_dir / str(data.get("folder", ""))
    if data.get("base") != base_fingerprint or not (folder / "adaptation.json").is_file():
        return None
    return folder


def train(base_dir: Path, triplets: list[Triplet], out_dir: Path, recipe: Recipe) -> dict:
    """Fine-tune the model in `base_dir` on `triplets` and save it to `out_dir` (CPU, deterministic seed)."""
    import time

    import torch
    from datasets import Dataset, DatasetDict
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers, MultiDatasetBatchSamplers
    from transformers.utils import logging as hf_logging

    started = time.perf_counter()
    torch.manual_seed(recipe.seed)
    model = SentenceTransformer(str(base_dir), device="cpu", local_files_only=True)
    full_length = model.max_seq_length
    model.max_seq_length = recipe.max_seq_length  # training only; the saved model keeps the full length
    embeddings = model[0].auto_model.get_input_embeddings()
    embeddings.weight.requires_grad_(False)  # 250k-token vocabulary: frozen, small data cannot move it well
    prompts = model.prompts or {}
    # short wordings and long question+answer keys in separate batches: a batch is padded to its longest text
    groups: dict[str, list[Triplet]] = {"wordings": [], "answers": []}
    for t in triplets:
        groups["answers" if len(t.positive) > SHORT else "wordings"].append(t)
    data = DatasetDict({name: Dataset.from_dict({
        "anchor": [t.anchor for t in group],
        "positive": [t.positive for t in group],
        "negative": [t.negative for t in group],
    }) for name, group in groups.items() if group})
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out_dir / "checkpoints"),
        num_train_epochs=recipe.epochs,
        per_device_train_batch_size=recipe.batch_size,
        learning_rate=recipe.learning_rate,
        warmup_steps=recipe.warmup_ratio,  # a float below 1 is a share of the steps (transformers 5)
        seed=recipe.seed,
        data_seed=recipe.seed,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        multi_dataset_batch_sampler=MultiDatasetBatchSamplers.PROPORTIONAL,
        prompts={"anchor": prompts.get("query", ""), "positive": prompts.get("passage", ""),
                 "negative": prompts.get("passage", "")},
        save_strategy="no",
        logging_steps=1_000_000,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    hf_logging.set_verbosity_error()
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data,
                                         loss=MultipleNegativesRankingLoss(model))
    result = trainer.train()
    shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)
    model.max_seq_length = full_length
    model.save(str(out_dir))
    return {"seconds": round(time.perf_counter() - started, 1), "loss": round(float(result.training_loss), 4)}
