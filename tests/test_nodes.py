"""A province on two service nodes: two `assistant serve` processes on loopback over one PostgreSQL and one Redis
(docs/DEPLOYMENT.md). Shows that knowledge changes made through one node are answered by the other within 5 s,
that limits, lockouts, kiosk sessions, conversation turns, portal sessions, pairing codes and crisis alerts hold
across nodes, and that SIGKILLing one node under load loses no question and logs none twice.

Runs on the two-document mini knowledge base (each node builds its own small index). In CI both PostgreSQL
(scripts/postgres.sh) and Redis (scripts/redis.sh) must be there: a missing one fails the test, never skips it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pytest
from helpers import free_port, service_url
from sqlalchemy import create_engine, select
from sqlalchemy import text as sql_text

from assistant.core.config import REPO_ROOT
from assistant.services import faq, kiosks, users
from assistant.storage.db import Database
from assistant.storage.models import FaqRecord, FollowUp, Question

pytestmark = pytest.mark.slow

PG_ENV, REDIS_ENV = "BANGJIAO_TEST_POSTGRES_URL", "BANGJIAO_TEST_REDIS_URL"
PRISON = "双节点监狱"
PASSWORD = "correct-horse-battery"
NEW_FAQ = "faq-bureau-431382-9001"
NEW_QUESTION = "涟源刑满释放回家后怎么申请低保？"
NEW_ANSWER = "涟源市司法局答复：回涟源后向户籍所在地乡镇人民政府（街道办事处）提出低保申请，具体以当地民政部门为准。"
LATER_FAQ = "faq-bureau-431382-9002"
LATER_QUESTION = "涟源刑满释放后找工作去哪里登记？"
LATER_ANSWER = "涟源市司法局答复：可以到户籍所在地乡镇（街道）的就业服务窗口办理失业登记和求职登记，具体以当地为准。"
LATER_WORDINGS = ["回涟源了找工作去哪登记", "涟源出来后想上班找哪个部门", "刑满回到涟源怎么办求职登记"]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL schema of its own (search_path), dropped afterwards."""
    base = service_url(PG_ENV, "PostgreSQL")
    engine = create_engine(base)
    name = f"nodes_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sql_text(f'CREATE SCHEMA "{name}"'))
    yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{name}"
    with engine.begin() as conn:
        conn.execute(sql_text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


@pytest.fixture
def redis_url() -> Iterator[tuple[str, str]]:
    """The test Redis and a key prefix of this run (its keys are deleted afterwards)."""
    import redis

    url = service_url(REDIS_ENV, "Redis")
    client = redis.Redis.from_url(url)
    assert client.ping()
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    yield url, prefix
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    client.close()


@dataclass
class Node:
    name: str
    base: str
    proc: subprocess.Popen
    data_dir: Path
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class Province:
    a: Node
    b: Node
    db: Database
    kiosks: dict[str, kiosks.Registration] = field(default_factory=dict)
    start: Callable[[str], Node] | None = None  # (re)start a node on its data directory


def start_node(name: str, tmp: Path, env: dict[str, str]) -> Node:
    data_dir = tmp / name
    data_dir.mkdir(exist_ok=True)
    port = free_port()
    log = tmp / f"{name}-{port}.log"
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env={**env, "BANGJIAO_DATA_DIR": str(data_dir)}, cwd=tmp,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    return Node(name, f"http://127.0.0.1:{port}", proc, data_dir, log)


def wait_ready(node: Node, deadline: float) -> None:
    while True:
        assert node.alive(), f"node {node.name} exited:\n{node.log.read_text()[-3000:]}"
        try:
            if httpx.get(f"{node.base}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.time() < deadline, f"node {node.name} not ready:\n{node.log.read_text()[-3000:]}"
        time.sleep(0.5)


@pytest.fixture
def province(tmp_path: Path, mini_kb: Path, embedder, pg_url: str, redis_url: tuple[str, str]) -> Iterator[Province]:
    """Two nodes over one PostgreSQL and Redis, with kiosks of one prison and a bureau account for 涟源."""
    db = Database(pg_url)
    regs = {}
    with db.session() as s:
        for name in ("limit", "session", "pin", "crisis", "poll", *(f"load{i}" for i in range(10))):
            regs[name] = kiosks.register(s, PRISON, name)
        users.add_user(s, "lianyuan", PASSWORD, users.BUREAU, "涟源市司法局", region_code="431382",
                       known_regions=["431382"])
    url, prefix = redis_url
    env = {**os.environ, "BANGJIAO_KNOWLEDGE_DIR": str(mini_kb), "BANGJIAO_MODEL_PATH": str(embedder.model_dir),
           "BANGJIAO_DATABASE_URL": pg_url, "BANGJIAO_REDIS_URL": url, "BANGJIAO_REDIS_PREFIX": prefix,
           "BANGJIAO_COOKIE_SECURE": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": str(REPO_ROOT)}
    nodes = [start_node(n, tmp_path, env) for n in ("a", "b")]

    def restart(name: str) -> Node:
        nodes.append(start_node(name, tmp_path, env))
        return nodes[-1]
    try:
        deadline = time.time() + 300
        for node in nodes:
            wait_ready(node, deadline)
        yield Province(nodes[0], nodes[1], db, regs, restart)
    finally:
        for node in nodes:
            if node.alive():
                node.proc.send_signal(signal.SIGTERM)
        for node in nodes:
            try:
                node.proc.wait(20)
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait()
        db.dispose()


def kiosk_headers(reg: kiosks.Registration, session: str | None = None) -> dict[str, str]:
    return {"X-Kiosk-Token": reg.token, **({"X-Kiosk-Session": session} if session else {})}


def open_session(node: Node, reg: kiosks.Registration, inmate: str | None = None) -> str:
    r = httpx.post(f"{node.base}/api/session", json={"county": "涟源", "pin": reg.pin, "inmate_number": inmate},
                   headers=kiosk_headers(reg), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["session"]


def ask(node: Node, reg: kiosks.Registration, session: str, question: str, **extra) -> httpx.Response:
    return httpx.post(f"{node.base}/api/ask", json={"question": question, **extra},
                      headers=kiosk_headers(reg, session), timeout=60)


def portal(node: Node) -> httpx.Client:
    """The bureau account signed in at `node`; `.csrf` is its session's form token."""
    client = httpx.Client(base_url=node.base, follow_redirects=False, timeout=60)
    token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/portal/login").text).group(1)
    r = client.post("/portal/login", data={"username": "lianyuan", "password": PASSWORD, "login_csrf": token})
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"], follow_redirects=True).text
    client.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client


def answered_by_new_faq(body: dict, answer: str = NEW_ANSWER) -> bool:
    return body["status"] == "answered" and answer in body["answer"]


def approve_draft(province: Province, bureau: httpx.Client, faq_id: str, question: str, answer: str,
                  wordings: list[str], topic: str) -> None:
    """A county draft (as the bureau's answer to a follow-up makes one), approved through the portal."""
    with province.db.session() as s:
        s.add(FaqRecord(id=faq_id, region_code="431382", topics=[topic], status="draft", question=question,
                        paraphrases=wordings, answer=answer, created_by="lianyuan",
                        sources=[faq.bureau_source("涟源市司法局", int(faq_id.rsplit("-", 1)[1]), date.today())]))
    form = {"question": question, "answer": answer, "csrf_token": bureau.csrf, "topics": topic,
            "paraphrases": "\n".join(wordings), "action": "approve"}
    r = bureau.post(f"/portal/bureau/faq/{faq_id}", data=form)
    assert r.status_code == 303 and r.headers["location"].endswith("done=published"), r.text


def generation(node: Node) -> int:
    """The knowledge generation a node has applied (from /health)."""
    return httpx.get(f"{node.base}/health", timeout=30).json()["knowledge_generation"]


def until(check, seconds: float, step: float = 0.25) -> float:
    """Seconds until `check()` is true; fails after `seconds`."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < seconds, f"not within {seconds} s"
        time.sleep(step)
    return time.monotonic() - start


def test_two_nodes_share_knowledge_limits_sessions_alerts_and_survive_losing_one(province: Province):
    a, b, regs = province.a, province.b, province.kiosks

    # --- an FAQ approved through node A is answered by node B within 5 s; withdrawn, it is gone there too
    poll = regs["poll"]
    poll_session = open_session(b, poll)
    assert not answered_by_new_faq(ask(b, poll, poll_session, NEW_QUESTION).json())
    bureau = portal(a)
    approve_draft(province, bureau, NEW_FAQ, NEW_QUESTION, NEW_ANSWER,
                  ["回涟源了低保咋申请", "涟源出来后吃低保找哪里", "刑满回到涟源怎么办低保"], "social_assistance")
    approved = time.monotonic()
    assert answered_by_new_faq(ask(a, poll, poll_session, NEW_QUESTION).json())  # at once on A
    until(lambda: generation(b) >= 1, 5)  # B heard of it and re-indexed the county (polled without asking)
    assert answered_by_new_faq(ask(b, poll, poll_session, NEW_QUESTION).json())
    seconds = time.monotonic() - approved
    print(f"FAQ approved on A answered on B after {seconds:.2f} s")
    assert seconds < 5

    # a bureau's new phone number, saved through A, is on B's region list within 5 s
    r = bureau.post("/portal/bureau/contact", data={"csrf_token": bureau.csrf, "name": "涟源市司法局",
                                                    "phone": "0738-8888 6666", "address": "", "hours": ""})
    assert r.status_code == 303, r.text

    def phone_on_b() -> bool:
        found = [x for x in httpx.get(f"{b.base}/api/regions", timeout=30).json() if x["code"] == "431382"]
        return found[0]["bureau"]["phone"] == "0738-8888 6666"
    until(phone_on_b, 5)

    # a portal session made on A is good on B (sessions live in the database)
    cookie = {"bj_portal": bureau.cookies.get("bj_portal")}
    r = httpx.get(f"{b.base}/portal/bureau/faq", cookies=cookie, timeout=30, follow_redirects=False)
    assert r.status_code == 200 and NEW_QUESTION in r.text

    r = bureau.post(f"/portal/bureau/faq/{NEW_FAQ}/withdraw", data={"csrf_token": bureau.csrf, "note": "测试撤回"})
    assert r.status_code == 303, r.text
    withdrawn = time.monotonic()
    until(lambda: generation(b) >= 3, 5)
    assert not answered_by_new_faq(ask(b, poll, poll_session, NEW_QUESTION).json())
    assert time.monotonic() - withdrawn < 5
    assert generation(a) == generation(b) == 3  # approved, contact saved, withdrawn

    # --- a kiosk's 21st question in a minute is refused whichever node it reaches
    lim = regs["limit"]
    lim_session = open_session(a, lim)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:  # all at once, half through each node: counted atomically in Redis
        codes = list(pool.map(lambda i: ask((a, b)[i % 2], lim, lim_session, "出狱后医保怎么办").status_code,
                              range(20)))
    assert codes == [200] * 20 and time.monotonic() - started < 50
    assert ask(a, lim, lim_session, "出狱后医保怎么办").status_code == 429
    assert ask(b, lim, lim_session, "出狱后医保怎么办").status_code == 429

    # --- officer PIN lockout across nodes: 5 wrong PINs spread over A and B lock the right one out on both
    pin = regs["pin"]
    for i in range(5):
        r = httpx.post(f"{(a, b)[i % 2].base}/api/session", json={"county": "涟源", "pin": "000000"},
                       headers=kiosk_headers(pin), timeout=30)
        assert r.status_code == 403, r.text
    for node in (a, b):
        r = httpx.post(f"{node.base}/api/session", json={"county": "涟源", "pin": pin.pin},
                       headers=kiosk_headers(pin), timeout=30)
        assert r.status_code == 429, r.text

    # --- a kiosk session opened on A works on B, and its turns follow it (context, the slip, read-aloud)
    sess = regs["session"]
    token = open_session(a, sess, inmate="A-2001")
    first = ask(a, sess, token, "出狱后医保怎么办")
    second = ask(b, sess, token, "去哪里办？")  # a follow-up: only the turn asked through A says what about
    assert first.status_code == second.status_code == 200
    assert (first.json()["turn"], second.json()["turn"]) == (1, 2)
    assert "医保" in second.json()["resolved_question"]  # alone it would be "你是问哪方面的？"
    slip = httpx.get(f"{b.base}/api/conversation", headers=kiosk_headers(sess, token), timeout=30).json()
    assert [t["number"] for t in slip["turns"]] == [1, 2]
    assert httpx.get(f"{a.base}/api/speech?turn=2", headers=kiosk_headers(sess, token), timeout=60).status_code \
        in (200, 503)  # the turn is found on A (503 only when espeak-ng is missing), never 404
    r = httpx.request("DELETE", f"{b.base}/api/conversation", headers=kiosk_headers(sess, token), timeout=30)
    assert r.status_code == 200
    assert httpx.get(f"{a.base}/api/conversation", headers=kiosk_headers(sess, token), timeout=30).json()["turns"] == []

    # --- a crisis raised on A appears in the officer view served by B; pairing codes work across nodes too
    crisis = regs["crisis"]
    token = open_session(a, crisis, inmate="A-3003")
    raised = ask(a, crisis, token, "我真的不想活了")
    assert raised.status_code == 200 and raised.json()["alert"] == "crisis"
    code = httpx.post(f"{a.base}/api/officer/pairing", headers=kiosk_headers(crisis), timeout=30).json()["code"]
    paired = httpx.post(f"{b.base}/api/officer/pair", json={"code": code, "pin": crisis.pin}, timeout=30)
    assert paired.status_code == 200 and paired.json()["token"] == crisis.token
    alerts = httpx.get(f"{b.base}/api/officer/alerts", headers={**kiosk_headers(crisis), "X-Officer-Pin": crisis.pin},
                       timeout=30).json()
    assert [(x["question_id"], x["inmate_number"]) for x in alerts] == [(raised.json()["question_id"], "A-3003")]

    # --- load on both nodes; node B is SIGKILLed half-way; every question is answered and logged exactly once
    load = [regs[f"load{i}"] for i in range(10)]
    sessions = [open_session((a, b)[i % 2], reg) for i, reg in enumerate(load)]
    questions = ["出狱后医保怎么办", "我的减刑什么时候批", "涟源医保去哪交", "交不起医保费怎么办", "今天天气怎么样"]
    per_kiosk = 15  # under the 20-a-minute limit of each kiosk
    results: list[tuple[str, int, int | None, str]] = []  # request id, question id, follow-up id, status
    failures: list[str] = []
    retried = []
    lock = threading.Lock()
    killed = threading.Event()

    def kiosk_worker(i: int) -> None:
        nodes = [(a, b)[i % 2], (b, a)[i % 2]]
        for n in range(per_kiosk):
            request_id = uuid.uuid4().hex
            body = None
            for attempt in range(6):  # like the kiosk page: the same request id again, on the other node
                node = nodes[0]
                try:
                    r = ask(node, load[i], sessions[i], questions[(i + n) % len(questions)], request_id=request_id)
                except httpx.TransportError:
                    nodes.reverse()
                    with lock:
                        retried.append(request_id)
                    time.sleep(0.2 * attempt)
                    continue
                if r.status_code == 200:
                    body = r.json()
                    break
                with lock:
                    failures.append(f"{node.name}: {r.status_code} {r.text[:200]}")
                break
            if body is None:
                with lock:
                    failures.append(f"kiosk {i} question {n} never answered")
                continue
            with lock:
                results.append((request_id, body["question_id"], body["followup_id"], body["status"]))

    def killer() -> None:
        until(lambda: len(results) >= 40, 240, 0.05)
        b.proc.send_signal(signal.SIGKILL)
        killed.set()

    threads = [threading.Thread(target=kiosk_worker, args=(i,)) for i in range(len(load))]
    kill_thread = threading.Thread(target=killer)
    for t in [*threads, kill_thread]:
        t.start()
    for t in [*threads, kill_thread]:
        t.join(600)
    assert killed.is_set() and b.proc.wait(10) == -signal.SIGKILL
    print(f"load: {len(results)} answered, {len(retried)} requests sent again after node B died")
    assert failures == []
    assert len(results) == len(load) * per_kiosk  # no question lost
    qids = [q for _, q, _, _ in results]
    assert None not in qids and len(set(qids)) == len(qids)  # logged (not only spooled), never one id twice
    load_ids = [reg.kiosk_id for reg in load]
    with province.db.session() as s:
        rows = s.execute(select(Question.id, Question.client_id).where(Question.kiosk_id.in_(load_ids))).all()
        followups = set(s.scalars(select(FollowUp.id)))
    assert sorted(r.id for r in rows) == sorted(qids)  # exactly once: no row from B without an answer, none twice
    flagged = [f for _, _, f, status in results if status == "flagged"]
    assert flagged and None not in flagged and len(set(flagged)) == len(flagged) and set(flagged) <= followups
    for node in (a, b):  # nothing waits in either node's spool
        spool = node.data_dir / "spool" / "questions.jsonl"
        assert not spool.exists() or not spool.read_text().strip()
    # the kiosks carry on with node A alone
    assert ask(a, load[1], sessions[1], "出狱后医保怎么办").status_code == 200

    # --- node B catches up on start: an FAQ approved while it was down is answered by it as soon as it is ready
    approve_draft(province, bureau, LATER_FAQ, LATER_QUESTION, LATER_ANSWER, LATER_WORDINGS, "employment")
    assert answered_by_new_faq(ask(a, poll, poll_session, LATER_QUESTION).json(), LATER_ANSWER)
    b = province.start("b")  # on the data directory of the node that was killed
    wait_ready(b, time.time() + 300)
    assert answered_by_new_faq(ask(b, poll, poll_session, LATER_QUESTION).json(), LATER_ANSWER)
    assert generation(b) == 4
