"""Review of what the kiosk answered: the bureau's review list, its three actions and its referral rules; review
coverage for a bureau (its county) and the admin (every county).

Scope comes from the signed-in user; the review service checks each question's county again.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from assistant.api.deps import DB, BureauForm, BureauUser, CurrentUser, State
from assistant.api.templating import render
from assistant.services import chosen_wording, review, users
from assistant.services.errors import InvalidError
from assistant.services.periods import parse_period
from assistant.services.statistics import NO_TOPIC

router = APIRouter(prefix="/portal/review", include_in_schema=False)
MAX_ID = 2**31 - 1
STATUS_FILTERS = {"answered": review.ANSWERED, "suggested": "suggested", "out_of_scope": review.OUT_OF_SCOPE,
                  "flagged": review.FLAGGED, "all": None}
_BACK_RE = re.compile(r"^/portal/review(\?[^\s#]*)?$")
_FAQ_ID_RE = re.compile(r"^faq-[a-z0-9-]{1,70}$")
_NOTICE_PARAMS = {"done", "n", "fu", "faq", "rule", "entry"}
Ids = Annotated[list[int], Form(alias="qid")]


def _back(back: str) -> str:
    """Return to the list the form was on; only the review list itself is followed."""
    return back if _BACK_RE.match(back or "") and "//" not in back else "/portal/review"


def _with(url: str, **params: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def _notice(request: Request) -> str | None:
    p = request.query_params
    done = p.get("done", "")
    if done == "review_right":
        return f"已记为答得对（{p.get('n', '')} 个问题）。"
    if done == "review_wrong":
        tail = "答复已交监狱转交给提问人，问答草稿待审核发布。" if p.get("faq") else "请在“待跟进”里写出正确答复。"
        return f"已记为答得不对，已开更正跟进第 {p.get('fu', '')} 号：{tail}"
    if done == "review_refer":
        return f"已记为应该转人工：本县今后这类问题不再自动回答（规则第 {p.get('rule', '')} 号）。"
    if done == "wording_added":
        return f"已把提问人的说法加进问答 {p.get('entry', '')}，下一个这样问的人会直接得到这条答复。"
    if done == "rule_withdrawn":
        return "转人工规则已撤销，这类问题又会自动回答。"
    return None


@router.get("")
def review_list(request: Request, who: BureauUser, db: DB, state: State,
                since: Annotated[str | None, Query(max_length=20)] = None,
                until: Annotated[str | None, Query(max_length=20)] = None,
                topic: Annotated[str, Query(max_length=40)] = "",
                status: Annotated[str, Query(pattern="^(answered|suggested|out_of_scope|flagged|all)$")] = "answered",
                unreviewed: Annotated[bool, Query()] = False,
                q: Annotated[str, Query(max_length=100)] = "",
                sample: Annotated[str, Query(max_length=10)] = "") -> Response:
    """The county's questions as near-duplicate groups, or this week's (or a given week's) random sample."""
    topics = state.runtime.kb.topics
    if topic and topic not in topics and topic != NO_TOPIC:
        raise InvalidError(f"未知的主题：{topic}")
    start, end = parse_period(since, until)
    f = review.ReviewFilter(start, end, topic or None, STATUS_FILTERS[status], unreviewed, q.strip())
    if sample:
        rows, more = review.weekly_sample(db, who.county, sample), False
        groups = [review.ReviewGroup((r,)) for r in rows]
    else:
        rows, more = review.review_rows(db, who.county, f)
        groups = review.group_rows(rows)
    faq_id = request.query_params.get("faq", "")
    return render(request, "review_list.html", who, groups=groups, rows=rows, more=more, since=since, until=until,
                  topic=topic, status=status, unreviewed=unreviewed, q=q, sample=sample,
                  week=review.current_week(), topics=list(topics.values()), no_topic=NO_TOPIC,
                  status_names=review.STATUS_NAMES, verdict_names=review.VERDICT_NAMES,
                  crises=review.withheld_crises(db, who.county, f),
                  back=_list_url(request),
                  draft_id=faq_id if _FAQ_ID_RE.match(faq_id) else "", max_rows=review.MAX_ROWS,
                  item_title=_titles(state),
                  wording_offers=chosen_wording.offers(state.runtime.kb, state.runtime.knowledge_files, who, rows),
                  notice=_notice(request), title="审核终端的回答")


def _list_url(request: Request) -> str:
    """This list with its filters, without the notice of the last action (the return address of its forms)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in _NOTICE_PARAMS]
    return f"/portal/review?{urlencode(kept)}" if kept else "/portal/review"


@router.post("/right")
def right(who: BureauForm, state: State, qid: Ids, back: Annotated[str, Form(max_length=500)] = "") -> Response:
    with state.runtime.database.session() as s:
        ids = review.mark_right(s, who, _bounded(qid))
    return RedirectResponse(_with(_back(back), done="review_right", n=str(len(ids))), 303)


@router.post("/wrong")
def wrong(who: BureauForm, state: State, qid: Ids, note: Annotated[str, Form(max_length=2000)],
          right_answer: Annotated[str, Form(max_length=5000)] = "",
          back: Annotated[str, Form(max_length=500)] = "") -> Response:
    with state.runtime.database.session() as s:
        done = review.mark_wrong(s, state.runtime.kb, who, _bounded(qid), note, right_answer)
    params = {"done": "review_wrong", "fu": str(done.followup_ids[0])}
    if done.faq_id:
        params["faq"] = done.faq_id
    return RedirectResponse(_with(_back(back), **params), 303)


@router.post("/refer")
def refer(who: BureauForm, state: State, qid: Ids, scope: Annotated[str, Form(pattern="^(item|topic)$")],
          note: Annotated[str, Form(max_length=2000)] = "", send: Annotated[bool, Form()] = False,
          back: Annotated[str, Form(max_length=500)] = "") -> Response:
    with state.runtime.database.session() as s:
        rule, _ = review.mark_refer(s, who, _bounded(qid), scope, note, send_to_bureau=send)
        rule_id = rule.id
    state.runtime.publish_referral_rules()
    return RedirectResponse(_with(_back(back), done="review_refer", rule=str(rule_id)), 303)


@router.post("/{question_id}/add-wording")
def add_wording(who: BureauForm, state: State, question_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                back: Annotated[str, Form(max_length=500)] = "") -> Response:
    """把这个说法加进这条问答: the asker's wording joins the entry they chose; live at once in its partition."""
    runtime = state.runtime
    with runtime.database.session() as s:
        done = chosen_wording.add_chosen_wording(s, runtime.knowledge_files, runtime.kb, who, question_id)
    runtime.publish_faq(done.entry)
    return RedirectResponse(_with(_back(back), done="wording_added", entry=done.entry.id), 303)


def _bounded(ids: list[int]) -> list[int]:
    if any(not 1 <= i <= MAX_ID for i in ids):
        raise InvalidError("问题编号不正确")
    return ids


def _titles(state) -> dict[str, str]:
    return review.item_titles(state.runtime.kb)


@router.get("/rules")
def rules(request: Request, who: BureauUser, db: DB, state: State) -> Response:
    return render(request, "review_rules.html", who, rules=review.county_rules(db, who.county),
                  item_title=_titles(state), notice=_notice(request), title="转人工规则")


@router.post("/rules/{rule_id}/withdraw")
def withdraw(who: BureauForm, state: State, rule_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    with state.runtime.database.session() as s:
        review.withdraw_rule(s, who, rule_id)
    state.runtime.publish_referral_rules()
    return RedirectResponse("/portal/review/rules?done=rule_withdrawn", 303)


@router.get("/coverage")
def coverage(request: Request, who: CurrentUser, db: DB, state: State,
             since: Annotated[str | None, Query(max_length=20)] = None,
             until: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    """Review coverage: a bureau sees its county; the admin sees every county (per county and in total)."""
    users.require_role(who, users.BUREAU, users.ADMIN)
    start, end = parse_period(since, until)
    figures = review.coverage(db, who.county if who.role == users.BUREAU else None, start, end)
    return render(request, "review_coverage.html", who, cov=figures, since=since, until=until,
                  all_counties=who.role == users.ADMIN, item_title=_titles(state), title="审核统计")
