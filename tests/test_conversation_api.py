"""The session's turn history, read-aloud and the slip through the kiosk API (real knowledge base)."""

from __future__ import annotations

import io
import json
import wave

import pytest
from fastapi.testclient import TestClient
from test_api import open_session

from assistant.answering.basis import basis_note
from assistant.api.main import create_app
from assistant.services import kiosks
from assistant.speech.text import prepare_for_speech

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(full_runtime):
    """Its own app: a rate limit that the read-aloud and slip tests do not run into."""
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


def seconds(wav: bytes) -> float:
    with wave.open(io.BytesIO(wav)) as w:
        return w.getnframes() / w.getframerate()


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


def test_speech_is_a_wav_of_this_sessions_answer(app, client, kiosk):
    headers = open_session(client, kiosk)
    answer = ask(client, headers, "醉驾以后多久能重新考驾照")
    r = client.get("/api/speech", params={"turn": answer["turn"]}, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav" and r.content[:4] == b"RIFF"
    spoken = prepare_for_speech(answer["answer"])
    assert len(spoken) / 5 <= seconds(r.content) <= len(spoken) / 2  # 2–5 characters a second: speech
    latest = client.get("/api/speech", headers=headers)  # without `turn`: the latest answer, from the cache
    assert latest.status_code == 200 and latest.content == r.content
    cached = list((app.state.service.runtime.settings.data_dir / "speech").glob("*.wav"))
    assert any(p.read_bytes() == r.content for p in cached)


def test_speech_is_guarded_like_ask(client, kiosk):
    headers = open_session(client, kiosk)
    ask(client, headers, "出狱后医保怎么办")
    assert client.get("/api/speech", params={"turn": 1}).status_code == 403
    assert client.get("/api/speech", params={"turn": 1},
                      headers={"X-Kiosk-Token": kiosk.token}).status_code == 403
    assert client.get("/api/speech", params={"turn": 2}, headers=headers).status_code == 404
    assert client.get("/api/speech", params={"turn": 0}, headers=headers).status_code == 422
    other = open_session(client, kiosks_register(client))  # another kiosk's session has no turn 1
    assert client.get("/api/speech", params={"turn": 1}, headers=other).status_code == 404


def kiosks_register(client):
    runtime = client.app.state.service.runtime
    with runtime.database.session() as s:
        return kiosks.register(s, "赤峰监狱", f"别的谈话终端-{id(s)}")


def test_speech_unavailable_is_503_with_a_message(app, client, kiosk, monkeypatch):
    headers = open_session(client, kiosk)
    ask(client, headers, "出狱后养老保险断交了怎么办")
    monkeypatch.setattr(app.state.service.speech, "binary", "espeak-ng-not-installed")
    monkeypatch.setattr(app.state.service.speech, "cache_dir", app.state.service.speech.cache_dir / "empty")
    r = client.get("/api/speech", headers=headers)
    assert r.status_code == 503 and "espeak-ng" in r.json()["error"]["message"]["zh"]


def test_slip_has_the_answers_without_inmate_number_names_or_crisis(client, kiosk):
    headers = open_session(client, kiosk, inmate="A-7731")
    answered = ask(client, headers, "我叫张伟，出狱以后医保该怎么弄？")
    ask(client, headers, "我真的不想活了")
    slip = client.get("/api/conversation", headers=headers).json()
    assert [t["number"] for t in slip["turns"]] == [answered["turn"]]
    turn = slip["turns"][0]
    assert "张伟" not in turn["question"] and "医保" in turn["question"]
    assert turn["answer"] == answered["answer"] and turn["sources"] and turn["applies"]
    assert slip["county"]["name"] == "涟源市" and slip["bureau"]["name"] == "涟源市司法局"
    assert slip["bureau"]["phone"] == "待司法局填写"  # not invented
    assert any("以户籍地司法局答复为准" in n for n in slip["notes"])
    assert basis_note() in slip["notes"]  # the one wording of answers and sheets, without a date
    assert turn["basis"] == answered["basis"] and "本条内容复核于" in turn["basis"]
    text = json.dumps(slip, ensure_ascii=False)
    assert "A-7731" not in text and "张伟" not in text and "不想活" not in text
    assert client.get("/api/conversation").status_code == 403


def test_idle_clear_and_session_end_wipe_the_history(client, kiosk):
    headers = open_session(client, kiosk)
    ask(client, headers, "出狱后医保怎么办")
    assert client.delete("/api/conversation", headers=headers).json() == {"cleared": True}
    assert client.get("/api/conversation", headers=headers).json()["turns"] == []
    assert client.get("/api/speech", headers=headers).status_code == 404
    ask(client, headers, "出狱后低保怎么申请")
    assert client.delete("/api/session", headers={"X-Kiosk-Token": kiosk.token,
                                                  "X-Officer-Pin": kiosk.pin}).status_code == 200
    again = open_session(client, kiosk)
    assert client.get("/api/conversation", headers=again).json()["turns"] == []
