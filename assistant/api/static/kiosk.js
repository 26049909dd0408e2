// 帮教问答 kiosk page: plain JS, no external resources.
"use strict";

const params = new URLSearchParams(location.search);
const IDLE_SECONDS = Number(params.get("idle")) || 120;   // clear the screen after this long without a touch
const state = { token: localStorage.getItem("kioskToken"), session: null, county: null, lastAnswer: null,
                regions: [], idleTimer: null, countyCode: null, countySeq: 0 };

const $ = (id) => document.getElementById(id);
const screens = ["screen-register", "screen-session", "screen-ask", "screen-answer"];
function show(id) { screens.forEach((s) => { $(s).hidden = s !== id; }); }
function text(el, value) { el.textContent = value == null ? "" : String(value); }

async function api(method, path, body, extraHeaders) {
  const headers = { "Content-Type": "application/json", ...(extraHeaders || {}) };
  if (state.token) headers["X-Kiosk-Token"] = state.token;
  if (state.session) headers["X-Kiosk-Session"] = state.session;
  const res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error((data.error && data.error.message && data.error.message.zh) || "出错了，请告诉民警");
    err.status = res.status;
    throw err;
  }
  return data;
}

// A random id per question, so that a retry is logged once (crypto.randomUUID needs HTTPS; this does not).
function requestId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function busy(on) { $("busy").hidden = !on; }

// ---------- registration and session ----------
// ---------- county search: a short ranked list, never a 2,850-item dropdown ----------
async function loadRegions() {
  state.countyCode = null;
  $("county-search").value = "";
  renderCountyResults([]);
  text($("county-chosen"), "");
}

async function searchCounties() {
  const q = $("county-search").value.trim();
  state.countyCode = null;
  text($("county-chosen"), "");
  if (!q) { renderCountyResults([]); return; }
  const seq = (state.countySeq = (state.countySeq || 0) + 1);
  try {
    const hits = await api("GET", `/api/regions?q=${encodeURIComponent(q)}&limit=8`);
    if (seq === state.countySeq) renderCountyResults(hits);
  } catch (e) { text($("session-error"), e.message); }
}

function renderCountyResults(hits) {
  const list = $("county-results");
  list.innerHTML = "";
  for (const r of hits) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button"; b.className = "county-hit"; b.setAttribute("role", "option");
    b.dataset.code = r.code;
    text(b, r.old_name ? `${r.full_name}（原${r.old_name}）` : r.full_name);
    b.addEventListener("click", () => chooseCounty(r.code, b.textContent));
    li.appendChild(b);
    list.appendChild(li);
  }
  $("county-search").setAttribute("aria-expanded", hits.length ? "true" : "false");
}

function chooseCounty(code, label) {
  state.countyCode = code;
  renderCountyResults([]);
  text($("county-chosen"), `已选：${label}`);
}

function selectedCounty() { return state.countyCode; }

function wireCountySearch() {
  let timer = null;
  $("county-search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(searchCounties, 150); });
  $("county-unknown").addEventListener("click", () => chooseCounty("户籍不详", "户籍不详（只按国家规定回答，由监狱跟进）"));
}

async function startSession() {
  text($("session-error"), "");
  try {
    if (!selectedCounty()) { text($("session-error"), "请先搜索并选定户籍地（县、区、旗），或选“户籍不详”"); return; }
    const data = await api("POST", "/api/session", { county: selectedCounty(),
      inmate_number: $("inmate").value.trim() || null, pin: $("pin").value.trim() });
    state.session = data.session;
    state.county = data.county;
    $("pin").value = ""; $("inmate").value = ""; loadRegions();
    conversationForget();  // conversation.js
    text($("where"), `户籍地：${data.county.name}`);
    $("end-session").hidden = false;
    await loadTopics();
    resetAsk();
  } catch (e) { text($("session-error"), e.message); }
}

async function endSession() {
  const pin = prompt("请输入民警口令结束本次问答");
  if (!pin) return;
  try { await api("DELETE", "/api/session", null, { "X-Officer-Pin": pin }); } catch (e) { alert(e.message); return; }
  state.session = null; state.county = null;
  conversationForget();  // conversation.js
  text($("where"), ""); $("end-session").hidden = true;
  show("screen-session");
}

// ---------- device code: checked before it is kept; 重新登记 replaces a wrong or revoked one ----------
// "ok", "refused" (403: unknown or revoked) or "unknown" (server unreachable: a stored code is kept)
async function tokenStatus(token) {
  const res = await fetch("/api/kiosk", { headers: { "X-Kiosk-Token": token } }).catch(() => null);
  if (!res) return "unknown";
  return res.ok ? "ok" : (res.status === 403 ? "refused" : "unknown");
}

async function registerKiosk() {
  const t = $("reg-token").value.trim();
  if (!t) { text($("reg-error"), "请输入登记码"); return; }
  const status = await tokenStatus(t);
  if (status === "refused") { text($("reg-error"), "登记码不正确或终端已停用，请核对后重新输入"); return; }
  if (status !== "ok") { text($("reg-error"), "暂时无法核对登记码，请稍后再试"); return; }
  state.token = t; localStorage.setItem("kioskToken", t);
  $("reg-token").value = ""; text($("reg-error"), "");
  show("screen-session");
}

function showRegister(message) {
  state.token = null; state.session = null; localStorage.removeItem("kioskToken");
  text($("reg-error"), message);
  show("screen-register");
}

// A six-digit code for the officer's screen (/officer), instead of typing the long device code there.
async function showPairingCode() {
  try {
    const p = await api("POST", "/api/officer/pairing");
    text($("pairing-code"), `值守配对码：${p.code}（${Math.round(p.expires_in / 60)} 分钟内有效，在值班民警电脑上输入）`);
  } catch (e) { text($("pairing-code"), e.message); }
  $("pairing-code").hidden = false;
}

// ---------- topics and asking ----------
async function loadTopics() {
  const topics = await api("GET", `/api/topics?county=${encodeURIComponent(state.county.code)}`);
  const box = $("topics");
  box.innerHTML = "";
  for (const t of topics) {
    if (!t.questions.length) continue;
    const b = document.createElement("button");
    b.className = "secondary";
    b.setAttribute("role", "listitem");
    b.dataset.topic = t.key;
    text(b, t.name);
    b.addEventListener("click", () => showTopic(t));
    box.appendChild(b);
  }
  state.topics = topics;
}

function showTopic(t) {
  $("topics").hidden = true;
  $("topic-questions").hidden = false;
  text($("topic-title"), `${t.name}：大家常问的问题`);
  const list = $("topic-list");
  list.innerHTML = "";
  for (const q of t.questions) {
    const b = document.createElement("button");
    text(b, q.question);
    b.addEventListener("click", () => ask(q.question));
    list.appendChild(b);
  }
}

function resetAsk() {
  $("topics").hidden = false;
  $("topic-questions").hidden = true;
  $("question").value = "";
  text($("ask-error"), "");
  $("feedback-message").hidden = true;
  state.lastAnswer = null;
  if (window.speechSynthesis) speechSynthesis.cancel();
  show("screen-ask");
  conversationShow();  // conversation.js: the whole conversation above the topics
}

const TITLES = { answered: "回答", flagged: "已经帮你记下来了", out_of_scope: "这个问题答不了",
                 suggested: "你是想问……？" };

async function ask(question) {
  question = (question || "").trim();
  if (!question) { text($("ask-error"), "请先写下你的问题"); return; }
  busy(true);
  try {
    const body = { question, request_id: requestId() };
    let a;
    try {
      a = await api("POST", "/api/ask", body);
    } catch (e) {  // the node (or the network) failed on the way: once more, the same id is logged only once
      if (e.status !== undefined && ![502, 503, 504].includes(e.status)) throw e;
      await new Promise((r) => setTimeout(r, 1000));
      a = await api("POST", "/api/ask", body);
    }
    state.lastAnswer = a;
    renderAnswer(a);
    conversationAdded(a);  // conversation.js: earlier turns above this answer
  } catch (e) {
    if (e.status === 403) {
      state.session = null; conversationForget(); show("screen-session"); text($("session-error"), e.message);
    }
    else text($("ask-error"), e.message);
  } finally { busy(false); }
}

function renderAnswer(a) {
  const card = $("answer-card");
  card.className = `card ${a.alert ? "crisis" : a.status}`;
  text($("answer-title"), a.alert ? "我们很关心你" : TITLES[a.status]);
  text($("answer-question"), `你问：${a.question}`);
  text($("answer-text"), a.answer);
  renderSources(a.sources);
  text($("answer-basis"), a.basis || "");
  $("answer-basis").hidden = !a.basis;
  const b = a.bureau || {};
  text($("answer-bureau"), b.name ? `${b.name}　电话：${b.phone || "暂未公布，请向监狱民警询问"}` +
    (b.address ? `　地址：${b.address}` : "") + (b.hours ? `　办公时间：${b.hours}` : "") : "");
  renderChoices(a);
  $("officer-alert").hidden = a.alert !== "crisis";
  $("not-solved").hidden = !(a.status === "answered" && a.question_id);
  $("feedback-message").hidden = true;
  show("screen-answer");
}

// ---------- sources, folded under "依据", one line per law ----------
function compactSources(sources) {
  const groups = new Map();
  for (const s of sources) {
    const m = s.citation.match(/^(.*?)(第\d+条.*)$/);
    const head = m ? m[1] : s.citation;
    const key = `${head}|${s.region}`;
    if (!groups.has(key)) groups.set(key, { head, region: s.region, articles: [] });
    if (m) groups.get(key).articles.push(m[2]);
  }
  return [...groups.values()].map((g) => `${g.head}${g.articles.join("、")}（适用：${g.region}）`);
}

function renderSources(list) {
  const sources = $("answer-sources");
  sources.innerHTML = "";
  if (!list || !list.length) return;
  const lines = compactSources(list);
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  text(summary, `依据（${lines.length} 条，点开看）`);
  const ul = document.createElement("ul");
  for (const line of lines) {
    const li = document.createElement("li");
    text(li, line);
    ul.appendChild(li);
  }
  details.append(summary, ul);
  sources.appendChild(details);
}

// ---------- "你是想问……？": choices instead of a dead end ----------
function choiceButton(label, onClick, cls) {
  const b = document.createElement("button");
  b.className = cls || "choice";
  b.setAttribute("role", "listitem");
  text(b, label);
  b.addEventListener("click", onClick);
  return b;
}

function renderChoices(a) {
  const box = $("answer-choices");
  box.innerHTML = "";
  box.hidden = a.status !== "suggested";
  if (box.hidden) return;
  const choices = a.suggestions || [];
  if (!choices.length) {  // a follow-up with nothing before it: which topic?
    for (const t of state.topics || []) {
      if (t.questions.length) box.appendChild(choiceButton(t.name, () => { resetAsk(); showTopic(t); }, "secondary"));
    }
    return;
  }
  for (const c of choices) box.appendChild(choiceButton(c.question, () => takeChoice(a, c)));
  box.appendChild(choiceButton("都不是", () => noneOfThese(a), "warn"));
}

async function takeChoice(a, c) {
  if (a.question_id) {
    try { await api("POST", "/api/choice", { question_id: a.question_id, faq_id: c.id }); } catch (e) { /* shown anyway */ }
  }
  const shown = { ...a, status: "answered", answer: c.answer, sources: c.sources, basis: c.basis,
                  suggestions: [] };
  state.lastAnswer = shown;
  renderAnswer(shown);
  text($("answer-question"), `你问：${a.question}（按“${c.question}”回答）`);
}

async function noneOfThese(a) {
  $("answer-choices").hidden = true;
  state.lastAnswer = a;
  await notSolved();
}

async function notSolved() {
  const a = state.lastAnswer;
  if (!a || !a.question_id) return;
  try {
    const r = await api("POST", "/api/feedback", { question_id: a.question_id });
    text($("feedback-message"), r.message);
  } catch (e) { text($("feedback-message"), e.message); }
  $("feedback-message").hidden = false;
  $("not-solved").hidden = true;
}

function readAloud() {
  // offline Chromium has no Chinese voice: the server speaks (conversation.js)
  speakAnswer(state.lastAnswer);
}

// ---------- privacy: after a while without a touch the asker's turn ends ----------
function touched() {
  clearTimeout(state.idleTimer);
  state.idleTimer = setTimeout(() => { if (state.session) { conversationClear(); endTurn(); } }, IDLE_SECONDS * 1000);
}

// The session (county, inmate number) ends on the server too, so the next person's questions are never logged
// under the previous asker; the officer reopens with the county chosen again and the PIN.
async function endTurn() {
  try { await api("DELETE", "/api/session/current"); } catch (e) { /* the server ends it after 30 minutes */ }
  state.session = null; state.county = null;
  resetAsk();
  text($("where"), ""); $("end-session").hidden = true;
  loadRegions(); $("inmate").value = ""; $("pin").value = "";  // the county is chosen again
  text($("session-error"), "上一位的问答已结束。请民警重新选择户籍地，输入口令开始。");
  show("screen-session");
}

async function init() {
  ["click", "touchstart", "keydown", "input"].forEach((ev) => document.addEventListener(ev, touched, true));
  $("reg-save").addEventListener("click", registerKiosk);
  $("re-register").addEventListener("click", () => showRegister(""));
  $("pairing").addEventListener("click", showPairingCode);
  $("open-session").addEventListener("click", startSession);
  $("end-session").addEventListener("click", endSession);
  $("topic-back").addEventListener("click", resetAsk);
  $("ask").addEventListener("click", () => ask($("question").value));
  // an on-screen keyboard covers the lower half: keep the box and its button in view
  $("question").addEventListener("focus", () => $("question").scrollIntoView({ block: "start" }));
  $("question").addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); ask($("question").value); } });
  $("answer-back").addEventListener("click", resetAsk);
  $("not-solved").addEventListener("click", notSolved);
  $("read-aloud").addEventListener("click", readAloud);
  wireCountySearch();
  await loadRegions();
  if (state.token && (await tokenStatus(state.token)) === "refused") {
    showRegister("本终端的登记码无效或已停用，请民警重新登记。");
  }
  else show(state.token ? "screen-session" : "screen-register");
  touched();
}

document.addEventListener("DOMContentLoaded", init);
