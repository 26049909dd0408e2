"""The kiosk and officer pages in Chromium (issue 15) against a real uvicorn server that never loads the model:
the idle clear ends the asker's turn, device codes are checked, the officer view says when it is not signed in."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from helpers import CHROMIUM, KNOWLEDGE, other_digits, serving
from playwright.sync_api import expect
from sqlalchemy import select
from test_browser import pick_county

from assistant.api.main import create_app
from assistant.core.config import Settings
from assistant.runtime import Runtime
from assistant.services import kiosks
from assistant.storage.models import KioskSession

pytestmark = pytest.mark.slow  # starts Chromium (no model)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(base URL, runtime): the app under uvicorn, marked ready without a model (no question is asked here)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: ./scripts/test.sh installs Debian's chromium")
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("pages"), knowledge_dir=KNOWLEDGE))
    app = create_app(runtime=runtime)
    app.state.service.ready.set()
    with serving(app, runtime.settings) as base:
        yield base, runtime


def register(runtime) -> kiosks.Registration:
    with runtime.database.session() as s:
        return kiosks.register(s, "雁北监狱", f"页面终端{time.time_ns() % 10**9}")


def registered_page(browser, base: str, reg: kiosks.Registration, idle: int | None = None):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{base}/kiosk" + (f"?idle={idle}" if idle else ""))
    page.fill("#reg-token", reg.token)
    page.click("#reg-save")
    page.wait_for_selector("#screen-session:not([hidden])")
    return page


def open_turn(page, reg: kiosks.Registration, county: str = "431382", inmate: str = "A-2024") -> None:
    pick_county(page, county, county)
    page.fill("#inmate", inmate)
    page.fill("#pin", reg.pin)
    page.click("#open-session")
    try:
        page.wait_for_selector("#screen-ask:not([hidden])", timeout=20000)
    except Exception:
        raise AssertionError(page.inner_text("#session-error")) from None


def open_sessions(runtime, reg: kiosks.Registration) -> list[KioskSession]:
    with runtime.database.session() as s:
        return list(s.scalars(select(KioskSession).where(KioskSession.kiosk_id == reg.kiosk_id,
                                                         KioskSession.ended_at.is_(None))))


def test_idle_clear_ends_the_turn_and_the_officer_reopens_with_county_and_pin(site, browser):
    base, runtime = site
    reg = register(runtime)
    page = registered_page(browser, base, reg, idle=5)
    open_turn(page, reg)
    assert len(open_sessions(runtime, reg)) == 1
    page.wait_for_selector("#screen-session:not([hidden])", timeout=20000)
    deadline = time.time() + 5
    while open_sessions(runtime, reg) and time.time() < deadline:
        time.sleep(0.1)
    assert open_sessions(runtime, reg) == []  # nothing more is logged under this inmate number or county
    assert page.input_value("#county-search") == "" and page.input_value("#inmate") == ""
    assert page.input_value("#question") == ""
    assert "重新选择户籍地" in page.inner_text("#session-error")
    page.fill("#pin", reg.pin)  # the county must be chosen again
    page.click("#open-session")
    expect(page.locator("#session-error")).to_contain_text("请先搜索并选定户籍地")
    assert page.is_visible("#screen-session") and open_sessions(runtime, reg) == []
    open_turn(page, reg, county="150426", inmate="")
    (session,) = open_sessions(runtime, reg)
    assert session.region_code == "150426" and session.inmate_number is None


def test_a_mistyped_device_code_is_refused_and_a_revoked_one_can_be_replaced(site, browser):
    base, runtime = site
    reg = register(runtime)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{base}/kiosk")
    page.fill("#reg-token", reg.token[:-1] + ("A" if reg.token[-1] != "A" else "B"))
    page.click("#reg-save")
    expect(page.locator("#reg-error")).to_contain_text("登记码不正确")
    assert page.is_visible("#screen-register") and page.evaluate("localStorage.getItem('kioskToken')") is None
    page.fill("#reg-token", reg.token)
    page.click("#reg-save")
    page.wait_for_selector("#screen-session:not([hidden])")
    with runtime.database.session() as s:
        kiosks.revoke(s, reg.kiosk_id)
    page.reload()  # a revoked (or otherwise dead) code does not leave the page stuck
    page.wait_for_selector("#screen-register:not([hidden])")
    expect(page.locator("#reg-error")).to_contain_text("重新登记")
    new = register(runtime)
    page.fill("#reg-token", new.token)
    page.click("#reg-save")
    page.wait_for_selector("#screen-session:not([hidden])")
    page.click("#re-register")  # the officer can also start over by hand
    page.wait_for_selector("#screen-register:not([hidden])")


def log_crisis(runtime, reg: kiosks.Registration, text: str, inmate: str) -> int:
    from assistant.answering.models import Answer
    from assistant.services.questions import AskContext, QuestionLog
    from assistant.storage.spool import Spool

    answer = Answer(text, "涟源市", "flagged", "回答", [], "crisis", [], region_code="431382")
    qlog = QuestionLog(runtime.database, Spool(runtime.settings.spool_path))
    return qlog.record(answer, AskContext(prison="雁北监狱", kiosk="页面终端", inmate_number=inmate,
                                          kiosk_id=reg.kiosk_id)).question_id


def watch(page, reg: kiosks.Registration, pin: str) -> None:
    page.locator("details").evaluate("d => { d.open = true; }")  # the device code instead of a pairing code
    page.fill("#token", reg.token)
    page.fill("#pin", pin)
    page.click("#watch")


def test_officer_view_says_not_signed_in_shows_the_inmate_number_sounds_and_remembers_seen(site, browser):
    base, runtime = site
    reg = register(runtime)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{base}/officer")
    watch(page, reg, other_digits(reg.pin))
    expect(page.locator("#error")).to_contain_text("未登录")
    assert page.is_hidden("#alerts-box") and page.is_hidden("#none") and "未登录" in page.inner_text("#status")

    log_crisis(runtime, reg, "出去也没人要我，活着没意思", "D-1234")
    watch(page, reg, reg.pin)
    page.wait_for_selector("#alerts li.officer-alert")
    assert "D-1234" in page.inner_text("#alerts") and page.evaluate("window.__beeps") == 1
    page.click("#alerts-box")  # acknowledged
    assert page.locator("#alerts li.officer-alert").count() == 0

    page.reload()
    watch(page, reg, reg.pin)
    page.wait_for_selector("#alerts li")
    time.sleep(0.5)
    assert page.locator("#alerts li.officer-alert").count() == 0 and not page.evaluate("window.__beeps")
    log_crisis(runtime, reg, "我真的撑不下去了", "D-5678")
    page.wait_for_selector("#alerts li.officer-alert", timeout=10000)
    assert page.locator("#alerts li.officer-alert").count() == 1 and page.evaluate("window.__beeps") == 1


def test_the_officer_pairs_with_a_six_digit_code_and_then_needs_only_the_pin(site, browser):
    base, runtime = site
    reg = register(runtime)
    kiosk = registered_page(browser, base, reg)
    kiosk.click("#pairing")
    expect(kiosk.locator("#pairing-code")).to_contain_text("值守配对码")
    code = re.search(r"\d{6}", kiosk.inner_text("#pairing-code")).group(0)
    officer = browser.new_page(viewport={"width": 1280, "height": 800})
    officer.goto(f"{base}/officer")
    officer.fill("#pair-code", other_digits(code))
    officer.fill("#pin", reg.pin)
    officer.click("#watch")
    expect(officer.locator("#error")).to_contain_text("配对码不正确")
    officer.fill("#pair-code", code)
    officer.fill("#pin", reg.pin)
    officer.click("#watch")
    officer.wait_for_selector("#alerts-box:not([hidden])")
    assert "已连接" in officer.inner_text("#status")
    officer.reload()  # paired once: the PIN alone signs in again
    officer.fill("#pin", reg.pin)
    officer.click("#watch")
    officer.wait_for_selector("#alerts-box:not([hidden])")
    assert len(code) == 6 and len(reg.token) == 43


class CannedAnswerer:
    """Stands in for the model-backed answerer: one answer that quotes an FAQ with contact fill-ins."""

    def __init__(self, regions):
        self.regions = regions

    def run(self, question: str, region_code: str, note: str | None = None, context=None):
        from assistant.answering.compose import render_fill_ins
        from assistant.answering.models import Answer

        text = render_fill_ins("出狱后请到户籍地司法局报到。电话：【待填写：涟源市司法局安置帮教联系电话】",
                               self.regions)
        return Answer(question, "涟源市", "answered", text, [], None, [], region_code=region_code)


def test_saved_contact_details_replace_the_blanks_and_office_hours_show_on_the_kiosk(site, browser):
    from assistant.knowledge.models import Bureau

    base, runtime = site
    runtime.publish_contact("431382", Bureau("涟源市司法局", "0738-1234567", "涟源市某路1号", "周一至周五 8:30-17:30"))
    runtime.__dict__["answerer"] = CannedAnswerer(runtime.regions)
    reg = register(runtime)
    page = registered_page(browser, base, reg)
    open_turn(page, reg)
    page.fill("#question", "出来以后去哪里报到")
    page.click("#ask")
    page.wait_for_selector("#screen-answer:not([hidden])")
    assert "0738-1234567" in page.inner_text("#answer-text") and "暂未公布" not in page.inner_text("#answer-text")
    bureau = page.inner_text("#answer-bureau")
    assert "0738-1234567" in bureau and "办公时间：周一至周五 8:30-17:30" in bureau
