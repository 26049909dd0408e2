"""The portal's main flows in a real browser (Debian's Chromium): sign in, answer a follow-up, approve an FAQ,
deliver the reply, download an FAQ sheet. Screenshots go to docs/screenshots/ only with
BANGJIAO_UPDATE_SCREENSHOTS=1 (the `shots` fixture), else to a temporary folder."""

from __future__ import annotations

import uuid

import pytest
from helpers import browser_sign_in

from assistant.services import followups, users
from assistant.storage.models import FaqRecord, FollowUp, Question

pytestmark = pytest.mark.slow
PASSWORD = "correct-horse-battery"


def account(runtime, role: str, **scope) -> str:
    name = f"{role}{uuid.uuid4().hex[:6]}"
    with runtime.database.session() as s:
        users.add_user(s, name, PASSWORD, role, {"bureau": "涟源市司法局 李科员", "prison": "雁北监狱 王警官"}[role],
                       **scope)
    return name


def sign_in(browser, base: str, username: str):
    return browser_sign_in(browser, base, username, PASSWORD)


def test_bureau_answers_and_publishes_then_prison_delivers_and_prints(shots, server, browser, full_runtime, tmp_path):
    base, _ = server
    text = "涟源出来以后想学厨师，县里有没有免费的技能培训班"
    with full_runtime.database.session() as s:
        q = Question(client_id=str(uuid.uuid4()), prison="雁北监狱", kiosk="教育室1号", region_code="431382",
                     topic="employment", text=text, status="flagged", answer="", sources=[], items=[])
        s.add(q)
        s.flush()
        fid = followups.open_followup(s, q, "flagged", "A-3107", "kiosk").id
        q.followup_id = fid

    bureau = sign_in(browser, base, account(full_runtime, "bureau", region_code="431382"))
    assert bureau.url.endswith("/portal/bureau/queue")
    card = bureau.locator("article", has_text=text)
    card.get_by_label("给这一组的答复").fill("县人社局每季度开设免费厨师培训，报名带身份证和释放证明，"
                                          "具体时间以县人社局通知为准。")
    bureau.screenshot(path=str(shots / "8-bureau-queue.png"), full_page=False)
    card.get_by_role("button", name="答复这一组").click()
    assert bureau.get_by_role("status").inner_text().startswith("已答复")

    bureau.goto(f"{base}/portal/bureau/followups/{fid}")
    bureau.get_by_role("button", name="把这个答复转为问答草稿").click()
    bureau.get_by_label("标准问题").fill("涟源有没有免费的厨师技能培训？")
    bureau.get_by_label("口语问法").fill("出来想学厨师去哪学\n县里有免费培训班没\n学门手艺要不要钱\n技能培训咋报名")
    bureau.get_by_role("button", name="审核通过并发布").click()
    assert "终端上现在就能直接回答" in bureau.get_by_role("status").inner_text()
    bureau.screenshot(path=str(shots / "9-bureau-faq-published.png"), full_page=True)
    with full_runtime.database.session() as s:
        record = s.query(FaqRecord).filter_by(followup_id=fid).one()
        assert record.status == "approved" and len(record.paraphrases) == 4
    answer = full_runtime.answerer.run("出来想学厨师去哪学", "431382")
    assert any(record.id in p.item_ids for p in answer.parts)

    bureau.goto(f"{base}/portal/bureau/stats")
    assert bureau.get_by_role("heading", name="每周各主题的提问数").is_visible()
    bureau.screenshot(path=str(shots / "11-bureau-stats.png"), full_page=True)

    prison = sign_in(browser, base, account(full_runtime, "prison", prison="雁北监狱"))
    assert prison.url.endswith("/portal/prison/deliveries")
    item = prison.locator("article", has_text=text)
    assert "A-3107" in item.inner_text()
    prison.screenshot(path=str(shots / "10-prison-deliveries.png"))
    item.get_by_role("button", name="已转交给本人").click()
    assert prison.get_by_role("status").inner_text().startswith("已记为转交")
    with full_runtime.database.session() as s:
        assert s.get(FollowUp, fid).state == "delivered"

    prison.goto(f"{base}/portal/prison/sheets")
    prison.get_by_label("涟源市").check()
    prison.get_by_label("就业").check()
    prison.get_by_label("只按本监狱的提问统计").uncheck()
    with prison.expect_download() as download:
        prison.get_by_role("button", name="下载 PDF").click()
    saved = tmp_path / "sheet.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF") and download.value.suggested_filename.endswith(".pdf")
    with prison.expect_download() as download:
        prison.get_by_role("button", name="下载 Word（DOCX）").click()
    assert download.value.suggested_filename.endswith(".docx")
