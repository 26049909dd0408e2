"""Shared test helpers (constants, the mini knowledge base's files, servers on loopback, portal sign-in).

Tests import them with `from helpers import ...`; fixtures stay in conftest.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from assistant.core.config import REPO_ROOT, Settings
from assistant.knowledge.models import KnowledgeBase

KNOWLEDGE = REPO_ROOT / "knowledge"
LAWS = REPO_ROOT.parent / "shared" / "laws"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = REPO_ROOT / "docs" / "screenshots"
UPDATE_SHOTS_ENV = "BANGJIAO_UPDATE_SCREENSHOTS"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def updating_screenshots() -> bool:
    """Whether browser tests rewrite the tracked screenshots in docs/screenshots/ (BANGJIAO_UPDATE_SCREENSHOTS=1)."""
    return os.environ.get(UPDATE_SHOTS_ENV) == "1"


SRC = """  {key}:
    title: 中华人民共和国社会保险法
    kind: law
    article: {article}
    version: 2018年修正
    law_file: 社会法/社会保险法(2018-12-29).md
    confidence: verified
"""

MEDICAL_DOC = (
    "---\nid: national-medical\ntitle: 出狱后怎么参加医疗保险\nregion: \"000000\"\ntopics: [medical_insurance]\n"
    "reviewed: 2026-11-22\nsources:\n" + SRC.format(key="sb23", article=23) + SRC.format(key="sb25", article=25)
    + "---\n\n# 出狱后怎么参加医疗保险\n\n## 可以参加哪种医保\n\n"
    "职工应当参加职工基本医疗保险，由用人单位和职工按照国家规定共同缴纳基本医疗保险费。[@sb23]\n\n"
    "## 交不起医保费怎么办\n\n享受最低生活保障的人参加城乡居民医保，个人缴费部分由政府给予补贴。[@sb25]\n"
    "联系电话：【待填写：户籍地医保服务站电话】[@sb25]\n"
)

FAQ_SOURCE = """  sources:
    - title: 中华人民共和国社会保险法
      kind: law
      article: 25
      version: 2018年修正
      law_file: 社会法/社会保险法(2018-12-29).md
      confidence: verified
"""

NATIONAL_FAQ = """- id: faq-medical-enrol
  region: "000000"
  topics: [medical_insurance]
  status: approved
  question: 出狱后医保怎么办？
  paraphrases: [出来了医保咋整, 坐完牢医保还能接着交不, 出狱了看病报销的保险怎么弄]
  answer: 出狱后到户籍地乡镇（街道）社保或医保服务站参加城乡居民医保，具体以当地为准。
""" + FAQ_SOURCE

LIANYUAN_FAQ = """- id: faq-lianyuan-medical
  region: "431382"
  topics: [medical_insurance]
  status: approved
  question: 涟源出狱后医保去哪交？
  paraphrases: [涟源医保去哪交, 回涟源了医保咋弄, 涟源的医保在哪办]
  answer: 涟源帮教团说，医保可以直接去乡镇站交费办理，具体以当地为准。
  sources:
    - title: 监地携手紧密共建和谐社会防线
      kind: field_report
      report: 001_ba1109f7e5938a90.txt
      confidence: secondary
"""



_READ: dict[str, KnowledgeBase] = {}


def knowledge_of(root: Path = KNOWLEDGE) -> KnowledgeBase:
    """`load_knowledge(root)`, read once per content in this test process: memoised on the tree's content hash
    (every .md, .yaml and .txt file by relative path and bytes, which is all the loader reads), so a tree a test
    edits is read again. A KnowledgeBase is frozen and nothing changes its dicts after loading. A tree that fails
    to load is never kept. The loader's own tests (test_knowledge_loader.py) call the loader itself."""
    from assistant.knowledge.loader import content_hash, load_knowledge

    root = Path(root)
    if not root.is_dir():
        return load_knowledge(root)
    key = content_hash(root)
    if key not in _READ:
        _READ[key] = load_knowledge(root)
    return _READ[key]


def other_digits(code: str) -> str:
    """Six digits that are surely not `code` (a wrong PIN or pairing code)."""
    return "000000" if code != "000000" else "111111"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app, settings: Settings) -> Iterator[str]:
    """`app` under a real uvicorn on a free loopback port, configured as `assistant serve` does, without warm-up
    (no model is loaded); yields its base URL."""
    import uvicorn

    from assistant.api.server import uvicorn_config

    port = free_port()
    srv = uvicorn.Server(uvicorn_config(app, settings, "127.0.0.1", port, lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        assert time.time() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


PORTAL_BASE = "https://testserver"  # portal cookies are Secure: the test client must speak "https"
PORTAL_PASSWORD = "correct-horse-battery"


def portal_sign_in(app, username: str, password: str = PORTAL_PASSWORD):
    """A fresh test browser signed in to the portal as `username`; its session's CSRF token is `.csrf`."""
    import re

    from fastapi.testclient import TestClient

    client = TestClient(app, base_url=PORTAL_BASE, follow_redirects=False)
    token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/portal/login").text).group(1)
    r = client.post("/portal/login", data={"username": username, "password": password, "login_csrf": token})
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"], follow_redirects=True).text
    client.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client


def browser_sign_in(browser, base: str, username: str, password: str):
    """A portal page in Chromium, signed in through the login form."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/portal/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    return page


def service_url(env: str, what: str) -> str:
    """The URL of a test service the test script starts (PostgreSQL, Redis): in CI a missing one fails the test,
    elsewhere it skips it."""
    url = os.environ.get(env)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{env} must be set in CI (./scripts/test.sh starts {what})")
        pytest.skip(f"{env} not set")
    return url
