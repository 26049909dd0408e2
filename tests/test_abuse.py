"""Attacks on loopback (issue 15): parallel sign-in guesses, officer PIN guessing, ids and dates out of range,
spoofed client addresses, oversized bodies. No model is loaded: the service is never warmed up."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from helpers import KNOWLEDGE, PORTAL_PASSWORD, other_digits
from helpers import serving as serve_app
from sqlalchemy import func, select

from assistant.api.main import create_app
from assistant.core.config import Settings
from assistant.runtime import Runtime
from assistant.services import kiosks, users
from assistant.storage.models import AuditEvent


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    return Runtime(Settings(data_dir=tmp_path_factory.mktemp("abuse"), knowledge_dir=KNOWLEDGE, cookie_secure=False))


def serving(runtime, settings: Settings | None = None):
    return serve_app(create_app(runtime=runtime), settings or runtime.settings)


@pytest.fixture(scope="module")
def live(runtime):
    """A real server (threads: concurrent requests really overlap)."""
    with serving(runtime) as base:
        yield base


def audit_count(runtime, action: str, **where) -> int:
    with runtime.database.session() as s:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        for column, value in where.items():
            query = query.where(getattr(AuditEvent, column) == value)
        return s.scalar(query)


def login_form(client: httpx.Client) -> str:
    return re.search(r'name="login_csrf" value="([^"]+)"', client.get("/portal/login").text).group(1)


@pytest.mark.slow  # threads racing through a real server
def test_parallel_wrong_passwords_are_counted_before_the_check(live, runtime):
    """Twenty wrong passwords sent at once: only the allowance (5) reaches the password check."""
    name = f"par{time.time_ns() % 10**9}"
    with runtime.database.session() as s:
        users.add_user(s, name, PORTAL_PASSWORD, users.ADMIN)

    def attempt(_: int) -> int:
        with httpx.Client(base_url=live, timeout=60) as client:
            token = login_form(client)
            return client.post("/portal/login", data={"username": name, "password": "wrong-password!",
                                                      "login_csrf": token}).status_code

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(attempt, range(20)))
    assert codes.count(401) == 5 and codes.count(429) == 15, codes
    with httpx.Client(base_url=live, timeout=60) as client:  # the right password is refused too while throttled
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
    wrong = other_digits(reg.pin)
    headers = {"X-Kiosk-Token": reg.token}
    with httpx.Client(base_url=live, headers=headers, timeout=60) as client:
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
    wrong = other_digits(reg.pin)
    with httpx.Client(base_url=live, timeout=60) as client:
        def alerts(r: kiosks.Registration, pin: str) -> int:
            return client.get("/api/officer/alerts", headers={"X-Kiosk-Token": r.token, "X-Officer-Pin": pin}
                              ).status_code
        assert [alerts(reg, wrong) for _ in range(4)] == [403] * 4
        assert alerts(reg, reg.pin) == 200
        assert [alerts(reg, wrong) for _ in range(5)] == [403] * 5 and alerts(reg, wrong) == 429
        assert alerts(other, other.pin) == 200


@pytest.fixture(scope="module")
def portal_app(runtime):
    return create_app(runtime=runtime)


def signed_in(portal_app, runtime, role: str, **scope):
    from helpers import portal_sign_in

    name = f"{role}{time.time_ns() % 10**9}"
    with runtime.database.session() as s:
        users.add_user(s, name, PORTAL_PASSWORD, role, **scope)
    client = portal_sign_in(portal_app, name)
    client._transport.raise_server_exceptions = False  # a 500 is a status to assert, not an exception
    return client


HUGE = [2**63 + 5, 2**64, 10**30, 2**31]


@pytest.mark.slow  # walks every route with odd ids
def test_ids_beyond_any_record_get_a_clear_answer_never_a_server_error(portal_app, runtime):
    admin = signed_in(portal_app, runtime, users.ADMIN)
    bureau = signed_in(portal_app, runtime, users.BUREAU, region_code="431382")
    prison = signed_in(portal_app, runtime, users.PRISON, prison="雁北监狱")
    reg = register_kiosk(runtime)
    session = KioskCaller(portal_app, reg)
    for big in HUGE:
        calls = [
            (bureau, "GET", f"/portal/bureau/followups/{big}", None),
            (bureau, "POST", f"/portal/bureau/followups/{big}/answer", {"answer": "好的"}),
            (bureau, "POST", f"/portal/bureau/followups/{big}/close", {"note": "重复"}),
            (bureau, "POST", f"/portal/bureau/followups/{big}/draft", {}),
            (prison, "POST", f"/portal/prison/followups/{big}/deliver", {}),
            (prison, "POST", f"/portal/kiosks/{big}/revoke", {}),
            (admin, "POST", f"/portal/admin/users/{big}/password", {"password": "a-new-password-1"}),
            (admin, "POST", f"/portal/admin/users/{big}/disable", {}),
        ]
        for client, method, path, data in calls:
            form = None if data is None else {**data, "csrf_token": client.csrf}
            r = client.request(method, path, data=form)
            assert r.status_code in (404, 422), (path, r.status_code)
        r = session.post("/api/feedback", json={"question_id": big})
        assert r.status_code in (404, 422), (big, r.status_code, r.text)
    assert bureau.get(f"/portal/bureau/faq/{'x' * 5000}").status_code in (404, 422)


class KioskCaller:
    """A kiosk with an open session, calling the API through the test client."""

    def __init__(self, app, reg: kiosks.Registration):
        from fastapi.testclient import TestClient

        app.state.service.ready.set()  # /api/feedback needs the database, not the model
        self.client = TestClient(app, raise_server_exceptions=False)
        r = self.client.post("/api/session", json={"county": "涟源", "pin": reg.pin},
                             headers={"X-Kiosk-Token": reg.token})
        self.headers = {"X-Kiosk-Token": reg.token, "X-Kiosk-Session": r.json()["session"]}

    def post(self, path: str, **kw):
        return self.client.post(path, headers=self.headers, **kw)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1900-01-01"])
def test_dates_far_outside_any_period_are_refused_with_a_message(portal_app, runtime, day):
    bureau = signed_in(portal_app, runtime, users.BUREAU, region_code="431382")
    prison = signed_in(portal_app, runtime, users.PRISON, prison="雁北监狱")
    admin = signed_in(portal_app, runtime, users.ADMIN)
    for field in ("since", "until"):
        for client, path, extra in [
            (bureau, "/portal/bureau/stats", {}),
            (prison, "/portal/prison/questions", {}),
            (prison, "/portal/prison/sheets/download", {"county": "431382", "format": "docx"}),
            (admin, "/portal/exports/download", {"kind": "questions", "format": "csv"}),
            (admin, "/portal/exports/download", {"kind": "followups", "format": "xlsx"}),
            (bureau, "/portal/exports/download", {"kind": "questions", "format": "csv"}),
        ]:
            r = client.get(path, params={**extra, field: day})
            assert r.status_code == 400 and "日期" in r.text, (path, field, r.status_code)


def failed_sign_in_address(base: str, runtime) -> str:
    """Sign in with a wrong password claiming X-Forwarded-For 203.0.113.9; the address the audit log recorded."""
    name = f"nobody{time.time_ns() % 10**9}"
    with httpx.Client(base_url=base, timeout=60) as client:
        token = login_form(client)
        r = client.post("/portal/login", data={"username": name, "password": "wrong-password!", "login_csrf": token},
                        headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 401
    with runtime.database.session() as s:
        detail = s.scalar(select(AuditEvent.detail).where(AuditEvent.actor == f"login:{name}"))
    return detail.removeprefix("from ")


def test_forwarded_addresses_are_believed_only_from_configured_proxies(live, runtime):
    assert failed_sign_in_address(live, runtime) == "127.0.0.1"
    behind_proxy = runtime.settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    with serving(runtime, behind_proxy) as base:
        assert failed_sign_in_address(base, runtime) == "203.0.113.9"


def test_oversized_bodies_are_refused_before_they_are_read(live, runtime, portal_app):
    """A 50 MB body to /api/ask gets 413 at once (not the 403 after reading it); so does a streamed body without a
    length as it passes 64 KB, and a portal form over 4 MB. Small bodies are unaffected."""
    big = b"x" * (50 * 1024 * 1024)
    with httpx.Client(base_url=live, timeout=60) as client:
        r = client.post("/api/ask", content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "太大" in r.json()["error"]["message"]["zh"]
        streamed = client.post("/api/ask", content=(b"y" * 16384 for _ in range(100)),
                               headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413
        assert client.post("/api/session", json={"county": "涟源", "pin": "123456"}).status_code == 403  # no token
        form = client.post("/portal/login", content=b"a=" + b"z" * (5 * 1024 * 1024),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert form.status_code == 413
    admin = signed_in(portal_app, runtime, users.ADMIN)  # a portal form of ordinary size still works
    assert admin.post(f"/portal/admin/users/{2**31 - 1}/disable", data={"csrf_token": admin.csrf}).status_code == 404
