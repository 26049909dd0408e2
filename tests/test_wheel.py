"""The built wheel runs: it carries the pages, templates, migrations and data files, finds its data and knowledge
in the current directory (never in site-packages), takes its version from the package metadata, and
`assistant serve` from it serves the kiosk page and logs the runtime's messages on the console.

The wheel is installed with `--no-deps` into a fresh venv (no pip, no network) whose only link to the project's
venv is a `.pth` line naming the project venv's site-packages, for the dependencies (torch and the rest are not
installed again). That line is a plain path: the project's editable-install hook (`__editable__*.pth`) is not run,
so `assistant` itself can only come from the wheel, which the first test checks. (`venv --system-site-packages`
would expose the base interpreter's packages, not the project venv's.)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assistant.core.config import REPO_ROOT

pytestmark = pytest.mark.slow
SOURCES = ("pyproject.toml", "README.md", "assistant")


@dataclass
class Installed:
    python: Path
    script: Path
    site: Path


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel, built from a copy of the sources (no build/ or egg-info left in the tree) and installed."""
    import shutil

    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(path, src / name)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(root / "dist"),
         str(src)])
    wheel = next((root / "dist").glob("bangjiao_assistant-*.whl"))
    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    project = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "project_dependencies.pth").write_text("".join(f"{p}\n" for p in project), "utf-8")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
         str(wheel)])
    return Installed(python, venv / "bin" / "assistant", site)


def run(cmd: list[str], **kwargs) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any BANGJIAO_ setting of the caller, offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANGJIAO_")}
    return {**env, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **extra}


def test_the_package_comes_from_the_wheel_with_the_version_of_its_metadata(installed: Installed, tmp_path: Path):
    code = "import assistant; print(assistant.__file__); print(assistant.__version__)"
    out = run([str(installed.python), "-c", code], cwd=tmp_path, env=clean_env())
    where, version = out.split()
    assert Path(where).is_relative_to(installed.site)
    assert version == tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    for data in ("api/static/kiosk.html", "api/templates/login.html", "answering/calibration.json",
                 "knowledge/data/divisions.json.gz", "storage/migrations/env.py"):
        assert (installed.site / "assistant" / data).is_file(), data


def test_installed_defaults_are_the_current_directory(installed: Installed, tmp_path: Path):
    out = run([str(installed.python), "-c", "from assistant.core.config import Settings; s = Settings(); "
               "print(s.data_dir); print(s.knowledge_dir)"], cwd=tmp_path, env=clean_env())
    assert out.split() == [str(tmp_path / "data"), str(tmp_path / "knowledge")]
    out = run([str(installed.python), "-c", "from assistant.core.config import Settings; print(Settings().data_dir)"],
              cwd=tmp_path, env=clean_env(BANGJIAO_DATA_DIR=str(tmp_path / "elsewhere")))
    assert out.strip() == str(tmp_path / "elsewhere")


@dataclass
class Server:
    base: str
    console: Path
    proc: subprocess.Popen
    deadline: float = field(default_factory=lambda: time.time() + 120)

    def output(self) -> str:
        return self.console.read_text("utf-8")

    def check_alive(self) -> None:
        assert self.proc.poll() is None and time.time() < self.deadline, self.output()

    def get(self, path: str) -> tuple[int, str]:
        """(status, body) of GET `path`, waiting while the server starts (it must stay up meanwhile)."""
        while True:
            try:
                with urllib.request.urlopen(self.base + path, timeout=5) as response:
                    return response.status, response.read().decode("utf-8")
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode("utf-8")
            except urllib.error.URLError:  # not listening yet
                self.check_alive()
                time.sleep(0.5)


@pytest.fixture
def deployment(installed: Installed, tmp_path: Path) -> Path:
    """A deployment folder: knowledge/ (the project's), a migrated database and a damaged index in data/."""
    (tmp_path / "knowledge").symlink_to(REPO_ROOT / "knowledge")
    run([str(installed.script), "db", "upgrade"], cwd=tmp_path, env=clean_env())
    assert (tmp_path / "data" / "bangjiao.db").is_file()
    (tmp_path / "data" / "index").mkdir()
    (tmp_path / "data" / "index" / "manifest.json").write_text("{damaged", "utf-8")
    return tmp_path


@pytest.fixture
def served(installed: Installed, deployment: Path) -> Iterator[Server]:
    """`assistant serve` of the wheel in the deployment folder. The model
    folder is a stand-in (its warm-up fails after reporting the damaged index; the pages do not need a model)."""
    model = deployment / "stand-in-model"
    model.mkdir()
    (model / "config.json").write_text("{}", "utf-8")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    console = deployment / "console.txt"
    with console.open("w") as out:
        proc = subprocess.Popen([str(installed.script), "serve", "--port", str(port)], cwd=deployment,
                                env=clean_env(BANGJIAO_MODEL_PATH=str(model)), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield Server(f"http://127.0.0.1:{port}", console, proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def test_assistant_serve_from_the_wheel_serves_the_kiosk_and_logs_the_runtime(served: Server):
    status, page = served.get("/kiosk")
    assert status == 200
    assert page == (REPO_ROOT / "assistant" / "api" / "static" / "kiosk.html").read_text("utf-8")
    assert served.get("/static/kiosk.js")[0] == 200
    status, login = served.get("/portal/login")
    assert status == 200 and "<h1>登录</h1>" in login  # a template of the wheel, rendered
    while "assistant.runtime: 索引损坏" not in served.output():  # the runtime's INFO reaches the console
        served.check_alive()
        time.sleep(0.5)
