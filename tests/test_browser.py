"""The kiosk page in a real browser (Debian's Chromium via Playwright) against a real uvicorn server. Screenshots go to
docs/screenshots/ only with BANGJIAO_UPDATE_SCREENSHOTS=1 (the `shots` fixture), else to a temporary folder."""

from __future__ import annotations

import time

import pytest

from assistant.services import kiosks
from assistant.storage.models import FollowUp, Question

pytestmark = pytest.mark.slow
@pytest.fixture
def registration(full_runtime):
    with full_runtime.database.session() as s:
        return kiosks.register(s, "雁北监狱", f"浏览器终端-{time.time_ns()}")


def open_kiosk(browser, base: str, reg, county: str = "431382", size=(1280, 800), idle: int | None = None):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(f"{base}/kiosk" + (f"?idle={idle}" if idle else ""))
    page.fill("#reg-token", reg.token)
    page.click("#reg-save")
    pick_county(page, county, county)
    page.fill("#inmate", "A-2024")
    page.fill("#pin", reg.pin)
    return page


def pick_county(page, query: str, code: str) -> None:
    """Type into the county search box and tap the result with this code."""
    page.fill("#county-search", query)
    page.click(f'.county-hit[data-code="{code}"]')
    page.wait_for_selector("#county-chosen:has-text('已选')")


def start(page) -> None:
    page.click("#open-session")
    page.wait_for_selector("#screen-ask:not([hidden])")


def test_topic_answer_sources_and_not_solved(shots, server, browser, registration, full_runtime):
    base, _ = server
    page = open_kiosk(browser, base, registration)
    page.screenshot(path=str(shots / "1-officer-opens-session.png"))
    start(page)
    assert "涟源市" in page.inner_text("#where")
    page.screenshot(path=str(shots / "2-topics.png"))
    page.click("#topics button:has-text('医保')")
    page.wait_for_selector("#topic-questions:not([hidden])")
    first_question = page.locator("#topic-list button").first
    asked = first_question.inner_text()
    first_question.click()
    page.wait_for_selector("#screen-answer:not([hidden])")
    assert page.inner_text("#answer-question") == f"你问：{asked}"
    page.click("#answer-sources summary")  # sources are folded under 依据, one line per law
    assert "适用：" in page.inner_text("#answer-sources")
    assert "涟源市司法局" in page.inner_text("#answer-bureau")
    basis = page.inner_text("#answer-basis")  # under the sources: snapshot of the statutes, the entry's review
    assert page.is_visible("#answer-basis") and basis.startswith("依据的法律法规截至2025年4月；本条内容复核于2026年")
    page.screenshot(path=str(shots / "3-answer-with-sources.png"))
    page.click("#not-solved")
    page.wait_for_selector("#feedback-message:not([hidden])")
    assert "涟源市司法局" in page.inner_text("#feedback-message")
    page.screenshot(path=str(shots / "4-not-solved.png"))
    with full_runtime.database.session() as s:
        q = s.query(Question).filter(Question.text == asked).order_by(Question.id.desc()).first()
        assert q.unresolved and s.get(FollowUp, q.followup_id).reason == "unresolved"


def test_free_question_flagged_kindly_at_full_hd(shots, server, browser, registration):
    base, _ = server
    page = open_kiosk(browser, base, registration, size=(1920, 1080))
    start(page)
    page.fill("#question", "我的减刑什么时候批下来")
    page.click("#ask")
    page.wait_for_selector("#screen-answer:not([hidden])")
    assert page.inner_text("#answer-title") == "已经帮你记下来了"
    assert "涟源市司法局" in page.inner_text("#answer-text")
    assert page.is_hidden("#not-solved") and page.inner_text("#answer-sources") == ""
    assert page.is_hidden("#answer-basis")  # a flag quotes nothing, so it dates nothing
    page.screenshot(path=str(shots / "5-flagged-1920.png"))


def test_idle_timeout_clears_the_screen_and_ends_the_turn(server, browser, registration):
    base, _ = server
    page = open_kiosk(browser, base, registration, idle=2)
    start(page)
    page.fill("#question", "出狱后低保怎么申请")
    page.click("#ask")
    page.wait_for_selector("#screen-answer:not([hidden])")
    page.wait_for_selector("#screen-session:not([hidden])", timeout=8000)  # the officer opens the next turn
    assert page.is_hidden("#screen-answer") and page.input_value("#question") == ""
    assert page.input_value("#inmate") == "" and page.input_value("#county-search") == ""
    assert page.inner_text("#county-chosen") == ""  # the county is chosen again for the next asker


def test_crisis_shows_care_and_reaches_the_officer_view(shots, server, browser, registration):
    base, _ = server
    officer = browser.new_page(viewport={"width": 1280, "height": 800})
    officer.goto(f"{base}/officer")
    officer.click("summary")  # the device code instead of a pairing code
    officer.fill("#token", registration.token)
    officer.fill("#pin", registration.pin)
    officer.click("#watch")
    page = open_kiosk(browser, base, registration)
    start(page)
    page.fill("#question", "我真的不想活了")
    page.click("#ask")
    page.wait_for_selector("#screen-answer:not([hidden])")
    assert page.inner_text("#answer-title") == "我们很关心你" and page.is_visible("#officer-alert")
    page.screenshot(path=str(shots / "6-crisis.png"))
    officer.wait_for_selector("#alerts li.officer-alert", timeout=10000)
    assert "不想活" in officer.inner_text("#alerts")
    officer.screenshot(path=str(shots / "7-officer-alert.png"))


def test_officer_ends_the_session(server, browser, registration):
    base, _ = server
    page = open_kiosk(browser, base, registration)
    start(page)
    page.once("dialog", lambda d: d.accept(registration.pin))
    page.click("#end-session")
    page.wait_for_selector("#screen-session:not([hidden])")
    assert page.inner_text("#where") == ""


def test_question_box_stays_usable_above_an_on_screen_keyboard(server, browser, registration):
    base, _ = server
    page = open_kiosk(browser, base, registration, size=(1280, 420))  # 800 px minus a 380 px keyboard
    start(page)
    page.focus("#question")
    page.keyboard.type("出狱后低保怎么申请")
    assert page.locator("#question").is_visible()
    box = page.locator("#question").bounding_box()
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= 420
    page.click("#ask")
    page.wait_for_selector("#screen-answer:not([hidden])")


def test_county_search_by_characters_initials_and_code(shots, server, browser, registration, full_runtime):
    base, _ = server
    with full_runtime.database.session() as s:  # this prison's inmates often come from 湘潭县
        for _ in range(3):
            kiosks.open_session(s, kiosks.authenticate(s, registration.token), "430321", None)
    page = open_kiosk(browser, base, registration)
    assert page.locator("select#county").count() == 0  # no dropdown of every county
    for query, code in (("湘潭县", "430321"), ("430321", "430321"), ("xt", "430321"), ("科尔沁", "150502")):
        page.fill("#county-search", query)
        first = page.locator(".county-hit").first
        first.wait_for()
        page.wait_for_function("q => document.querySelector('#county-search').value === q", arg=query)
        page.wait_for_selector(f'.county-hit[data-code="{code}"]')
        if query == "xt":  # the prison's frequent home county comes first among 行唐、新泰、湘潭、仙桃…
            page.wait_for_function("() => document.querySelector('.county-hit').dataset.code === '430321'")
        assert page.locator(".county-hit").count() <= 8
    page.fill("#county-search", "邵东县")  # an old name finds today's county and says so
    page.wait_for_selector('.county-hit[data-code="430582"]:has-text("原邵东县")')
    page.screenshot(path=str(shots / "12-county-search.png"))
    page.click('.county-hit[data-code="430582"]')
    page.fill("#pin", registration.pin)
    start(page)
    assert "邵东市" in page.text_content("#where")


def test_unknown_home_opens_a_national_session(server, browser, registration):
    base, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{base}/kiosk")
    page.fill("#reg-token", registration.token)
    page.click("#reg-save")
    page.click("#open-session")  # nothing chosen yet: refused with a clear message
    assert "请先搜索" in page.text_content("#session-error")
    page.click("#county-unknown")
    page.fill("#pin", registration.pin)
    start(page)
    assert "户籍不详" in page.text_content("#where")


VAGUE = ("出来以后咋办", "保险的事", "出去找谁", "证件咋弄", "孩子的事咋整", "找活的事", "钱不够咋办", "地的事")


def test_choices_when_unsure_and_topics_for_a_follow_up_with_nothing_before_it(shots, server, browser, registration,
                                                                              full_runtime):
    base, _ = server
    offered = {q: full_runtime.answerer.run(q, "431382") for q in VAGUE}
    vague = next((q for q, a in offered.items() if a.status == "suggested" and a.suggestions), None)
    assert vague, "none of the vague questions was offered choices"
    page = open_kiosk(browser, base, registration)
    start(page)
    page.fill("#question", "那我儿子呢？")  # a follow-up with nothing before it: which topic?
    page.click("#ask")
    page.wait_for_selector("#answer-choices:not([hidden])")
    assert page.inner_text("#answer-title") == "你是想问……？"
    topic = page.locator("#answer-choices button").first
    topic_name = topic.inner_text()
    topic.click()
    page.wait_for_selector("#topic-questions:not([hidden])")
    assert topic_name in page.inner_text("#topic-title")
    page.fill("#question", vague)
    page.click("#ask")
    page.wait_for_selector("#answer-choices:not([hidden]) button.choice")
    choices = page.locator("#answer-choices button.choice")
    assert 1 <= choices.count() <= 3 and page.locator("#answer-choices button:has-text('都不是')").count() == 1
    page.screenshot(path=str(shots / "6-choices.png"))
    picked = choices.first.inner_text()
    choices.first.click()
    page.wait_for_selector("#answer-choices", state="hidden")
    assert page.inner_text("#answer-title") == "回答" and picked in page.inner_text("#answer-question")
    entry = next(s for s in offered[vague].suggestions if s.question == picked)
    assert page.inner_text("#answer-text").strip() == entry.answer.strip()
    assert page.inner_text("#answer-basis") == entry.public()["basis"] and "本条内容复核于" in entry.public()["basis"]
    with full_runtime.database.session() as s:
        q = s.query(Question).filter(Question.text == vague).order_by(Question.id.desc()).first()
        assert q.status == "suggested" and q.chosen == entry.id and entry.id in q.offered
