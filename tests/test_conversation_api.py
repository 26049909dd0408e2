"""The session's turn history through the kiosk API (real knowledge base)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from test_api import open_session

from assistant.api.main import create_app
from assistant.services import kiosks

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(full_runtime):
    """Its own app: a rate limit that these tests do not run into."""
    app = create_app(runtime=full_runtime, rate="100/minute")
    with TestClient(app) as c:
        assert app.state.service.ready.wait(120)
        app.client = c
        yield app


@pytest.fixture
def client(app):
    return app.client


@pytest.fixture
def kiosk(full_runtime):
    with full_runtime.database.session() as s:
        return kiosks.register(s, "雁北监狱", f"谈话终端-{id(s)}")


def ask(client, headers, question) -> dict:
    r = client.post("/api/ask", json={"question": question}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_each_answer_is_a_numbered_turn_of_the_session(app, client, kiosk):
    headers = open_session(client, kiosk)
    first = ask(client, headers, "醉驾以后多久能重新考驾照")
    second = ask(client, headers, "出狱后低保怎么申请")
    assert (first["turn"], second["turn"]) == (1, 2)
    key = next(k for k in app.state.service.conversations._data if k.startswith(f"{kiosk.kiosk_id}:"))
    turns = app.state.service.conversations.turns(key)
    assert [t.asked for t in turns] == ["醉驾以后多久能重新考驾照", "出狱后低保怎么申请"]
    assert turns[0].answer == first["answer"] and turns[1].question_id == second["question_id"]
    other = open_session(client, kiosk)  # a new session on the kiosk: the old turns are gone
    assert app.state.service.conversations.turns(key) == []
    assert ask(client, other, "出狱后医保怎么办")["turn"] == 1


def test_idle_clear_and_session_end_wipe_the_history(client, kiosk):
    headers = open_session(client, kiosk)
    ask(client, headers, "出狱后医保怎么办")
    assert client.delete("/api/conversation", headers=headers).json() == {"cleared": True}
    assert client.get("/api/conversation", headers=headers).json()["turns"] == []
    ask(client, headers, "出狱后低保怎么申请")
    assert client.request("DELETE", "/api/session", json={"pin": kiosk.pin},
                          headers={"X-Kiosk-Token": kiosk.token}).status_code == 200
    again = open_session(client, kiosk)
    assert client.get("/api/conversation", headers=again).json()["turns"] == []
