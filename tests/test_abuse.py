"""Attacks on loopback (issue 15): parallel sign-in guesses, officer PIN guessing, ids and dates out of range,
spoofed client addresses, oversized bodies. No model is loaded: the service is never warmed up."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import KNOWLEDGE, PORTAL_PASSWORD, free_port
from sqlalchemy import func, select

from assistant.api.main import create_app
from assistant.core.config import Settings
from assistant.runtime import Runtime
from assistant.services import kiosks, users
from assistant.storage.models import AuditEvent


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    return Runtime(Settings(data_dir=tmp_path_factory.mktemp("abuse"), knowledge_dir=KNOWLEDGE, cookie_secure=False))


@pytest.fixture(scope="module")
def live(runtime):
    """The app under a real uvicorn on loopback (threads: concurrent requests really overlap), not warmed up."""
    import uvicorn

    from assistant.api.server import uvicorn_config

    app = create_app(runtime=runtime)
    port = free_port()
    srv = uvicorn.Server(uvicorn_config(app, runtime.settings, "127.0.0.1", port, lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        assert time.time() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def audit_count(runtime, action: str, **where) -> int:
    with runtime.database.session() as s:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        for column, value in where.items():
            query = query.where(getattr(AuditEvent, column) == value)
        return s.scalar(query)


def login_form(client: httpx.Client) -> str:
    return re.search(r'name="login_csrf" value="([^"]+)"', client.get("/portal/login").text).group(1)


def test_parallel_wrong_passwords_are_counted_before_the_check(live, runtime):
    """Twenty wrong passwords sent at once: only the allowance (5) reaches the password check."""
    name = f"par{time.time_ns() % 10**9}"
    with runtime.database.session() as s:
        users.add_user(s, name, PORTAL_PASSWORD, users.ADMIN)

    def attempt(_: int) -> int:
        with httpx.Client(base_url=live) as client:
            token = login_form(client)
            return client.post("/portal/login", data={"username": name, "password": "wrong-password!",
                                                      "login_csrf": token}).status_code

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(attempt, range(20)))
    assert codes.count(401) == 5 and codes.count(429) == 15, codes
    with httpx.Client(base_url=live) as client:  # the right password is refused too while throttled
        r = client.post("/portal/login", data={"username": name, "password": PORTAL_PASSWORD,
                                               "login_csrf": login_form(client)})
    assert r.status_code == 429


def register_kiosk(runtime, prison: str = "雁北监狱") -> kiosks.Registration:
    with runtime.database.session() as s:
        return kiosks.register(s, prison, f"教育室{time.time_ns() % 10**9}")


def test_officer_pin_guesses_are_locked_after_five_and_audited(live, runtime):
    """Forty PIN guesses at the officer view and the session endpoint: five are checked, the rest get 429, the
    right PIN too while locked, and every failure and refusal is in the audit log."""
    reg = register_kiosk(runtime)
    wrong = "000000" if reg.pin != "000000" else "111111"
    headers = {"X-Kiosk-Token": reg.token}
    with httpx.Client(base_url=live, headers=headers) as client:
        codes = [client.get("/api/officer/alerts", headers={"X-Officer-Pin": wrong}).status_code for _ in range(20)]
        codes += [client.post("/api/session", json={"county": "涟源", "pin": wrong}).status_code for _ in range(20)]
        assert codes[:5] == [403] * 5 and set(codes[5:]) == {429}, codes
        locked = client.post("/api/session", json={"county": "涟源", "pin": reg.pin})
        assert locked.status_code == 429 and "锁定" in locked.json()["error"]["message"]["zh"]
    target = f"kiosk:{reg.kiosk_id}"
    assert audit_count(runtime, "kiosk_pin_failed", target=target) == 5
    assert audit_count(runtime, "kiosk_pin_locked", target=target) == 36


def test_a_right_pin_resets_the_count_and_other_kiosks_are_not_locked(live, runtime):
    reg, other = register_kiosk(runtime), register_kiosk(runtime)
    wrong = "000000" if reg.pin != "000000" else "111111"
    with httpx.Client(base_url=live) as client:
        def alerts(r: kiosks.Registration, pin: str) -> int:
            return client.get("/api/officer/alerts", headers={"X-Kiosk-Token": r.token, "X-Officer-Pin": pin}
                              ).status_code
        assert [alerts(reg, wrong) for _ in range(4)] == [403] * 4
        assert alerts(reg, reg.pin) == 200
        assert [alerts(reg, wrong) for _ in range(5)] == [403] * 5 and alerts(reg, wrong) == 429
        assert alerts(other, other.pin) == 200
