"""The conversation on the kiosk screen, read-aloud and the take-away slip in Debian's Chromium against a
real uvicorn server. Screenshots go to docs/screenshots/ with BANGJIAO_UPDATE_SCREENSHOTS=1, else to a
temporary folder (printed slips as PDF and PNG, to look at)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from test_browser import open_kiosk, pick_county, start

from assistant.services import kiosks

pytestmark = pytest.mark.slow


@pytest.fixture
def registration(full_runtime):
    with full_runtime.database.session() as s:
        return kiosks.register(s, "雁北监狱", f"谈话浏览器终端-{time.time_ns()}")


def ask(page, question: str) -> None:
    page.fill("#question", question)
    page.click("#ask")
    page.wait_for_function("q => document.querySelector('#answer-question').textContent === '你问：' + q",
                           arg=question)


def test_the_conversation_stays_on_screen_newest_last_and_idle_clear_wipes_it(server, browser, registration,
                                                                              shots):
    base, _ = server
    page = open_kiosk(browser, base, registration, idle=6)
    start(page)
    assert page.is_hidden("#conversation")  # nothing asked yet
    ask(page, "醉驾以后多久能重新考驾照")
    assert page.is_hidden("#conversation")  # the only answer is the card itself
    page.click("#answer-back")
    assert page.locator("#turns li").count() == 1 and "醉驾" in page.inner_text("#turns")
    ask(page, "出狱后低保怎么申请")
    ask_back = page.locator("#answer-back")
    ask_back.click()
    ask(page, "出狱后医保怎么办")
    items = page.locator("#turns li .turn-q")
    assert items.all_inner_texts() == ["你问：醉驾以后多久能重新考驾照", "你问：出狱后低保怎么申请"]
    scrolled = page.evaluate("(() => { const l = document.getElementById('turns');"
                             " return l.scrollTop + l.clientHeight >= l.scrollHeight - 2; })()")
    assert scrolled  # the newest earlier turn is in view
    assert float(page.evaluate("getComputedStyle(document.querySelector('.turn-a')).fontSize")[:-2]) >= 20
    page.screenshot(path=str(shots / "12-conversation.png"), full_page=True)
    page.wait_for_selector("#screen-session:not([hidden])", timeout=15000)  # idle clear ends the turn
    assert page.is_hidden("#conversation") and page.locator("#turns li").count() == 0


def test_read_aloud_plays_server_speech_in_an_audio_element(server, browser, registration):
    base, _ = server
    page = open_kiosk(browser, base, registration)
    start(page)
    ask(page, "醉驾以后多久能重新考驾照")
    with page.expect_response(lambda r: "/api/speech" in r.url) as info:
        page.click("#read-aloud")
    response = info.value
    assert response.status == 200 and response.headers["content-type"] == "audio/wav"
    assert int(response.headers["content-length"]) > 100_000  # seconds of 22 kHz 16-bit speech
    page.wait_for_function("() => document.getElementById('speech-audio').currentTime > 0.5", timeout=15000)
    audio = page.evaluate("(() => { const a = document.getElementById('speech-audio');"
                          " return {paused: a.paused, duration: a.duration, src: a.src}; })()")
    assert not audio["paused"] and audio["duration"] > 10 and audio["src"].startswith("blob:")
    assert page.inner_text("#read-aloud") == "停止朗读"
    page.click("#read-aloud")  # a second press stops it
    assert page.evaluate("document.getElementById('speech-audio').paused")
    assert page.inner_text("#read-aloud") == "朗读"


def test_read_aloud_says_clearly_when_speech_is_unavailable(server, browser, registration, monkeypatch):
    base, service = server
    monkeypatch.setattr(service.speech, "binary", "espeak-ng-not-installed")
    monkeypatch.setattr(service.speech, "cache_dir", service.speech.cache_dir / "empty")
    page = open_kiosk(browser, base, registration)
    start(page)
    ask(page, "出狱后医保怎么办")
    page.click("#read-aloud")
    page.wait_for_selector("#speech-message:not([hidden])")
    assert "朗读暂时不能用" in page.inner_text("#speech-message")
    assert page.inner_text("#read-aloud") == "朗读"


def pdf_pages(pdf: Path) -> tuple[int, tuple[float, float]]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    width, _, height = fields["Page size"].split()[:3]
    return int(fields["Pages"]), (float(width), float(height))


@pytest.mark.parametrize(("paper", "width_pt"), [("a5", 419.5), ("receipt", 226.8)])
def test_the_slip_prints_this_sessions_answers(server, browser, registration, shots, paper, width_pt):
    base, _ = server
    page = open_kiosk(browser, base, registration)
    page.add_init_script("window.__printed = 0; window.print = () => { window.__printed += 1; };")
    page.goto(f"{base}/kiosk?paper={paper}")
    pick_county(page, "431382", "431382")
    page.fill("#inmate", "A-5150")
    page.fill("#pin", registration.pin)
    start(page)
    ask(page, "我叫王强，醉驾以后多久能重新考驾照")
    page.click("#answer-back")
    ask(page, "出狱后低保怎么申请")
    page.click("#print-slip")
    page.wait_for_function("() => window.__printed === 1")
    slip = page.inner_text("#slip")
    for expected in ("醉驾", "低保", "涟源市司法局", "电话：", "以户籍地司法局答复为准",
                     "依据的法律法规截至2025年4月。", "本条内容复核于", "适用：全国", "依据：《"):
        assert expected in slip, expected
    assert "A-5150" not in slip and "王强" not in slip
    assert page.is_hidden("#slip")  # on screen the slip never shows
    page.emulate_media(media="print")
    assert page.is_visible("#slip") and page.is_hidden("#screen-answer") and page.is_hidden(".bar")
    pdf = shots / f"slip-{paper}.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    pages, (width, height) = pdf_pages(pdf)
    assert abs(width - width_pt) < 2 and pages <= 2
    if paper == "receipt":  # one page as long as the slip: a roll printer feeds no blank paper
        assert pages == 1 and 300 < height < 1400
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(shots / f"13-slip-{paper}")], check=True)
