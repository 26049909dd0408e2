// 帮教问答 kiosk page: plain JS, no external resources.
"use strict";

const params = new URLSearchParams(location.search);
const IDLE_SECONDS = Number(params.get("idle")) || 120;   // clear the screen after this long without a touch
const state = { token: localStorage.getItem("kioskToken"), session: null, county: null, lastAnswer: null,
                regions: [], idleTimer: null };

const $ = (id) => document.getElementById(id);
const screens = ["screen-register", "screen-session", "screen-ask", "screen-answer"];
function show(id) { screens.forEach((s) => { $(s).hidden = s !== id; }); }
function text(el, value) { el.textContent = value == null ? "" : String(value); }

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
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

function busy(on) { $("busy").hidden = !on; }

// ---------- registration and session ----------
async function loadRegions() {
  state.regions = await api("GET", "/api/regions");
  const select = $("county");
  select.innerHTML = "";
  const byCode = Object.fromEntries(state.regions.map((r) => [r.code, r]));
  const groups = {};
  for (const r of state.regions) {
    if (r.level !== "county" && r.level !== "city") continue;
    const province = r.level === "city" ? byCode[r.parent] : byCode[byCode[r.parent].parent];
    (groups[province.name] = groups[province.name] || []).push(r);
  }
  for (const [province, list] of Object.entries(groups)) {
    const og = document.createElement("optgroup");
    og.label = province;
    for (const r of list) {
      const o = document.createElement("option");
      o.value = r.code;
      text(o, r.level === "city" ? `${r.name}（市本级）` : `${byCode[r.parent].name} ${r.name}`);
      og.appendChild(o);
    }
    select.appendChild(og);
  }
}

async function startSession() {
  text($("session-error"), "");
  try {
    const data = await api("POST", "/api/session", { county: $("county").value,
      inmate_number: $("inmate").value.trim() || null, pin: $("pin").value.trim() });
    state.session = data.session;
    state.county = data.county;
    $("pin").value = ""; $("inmate").value = "";
    text($("where"), `户籍地：${data.county.name}`);
    $("end-session").hidden = false;
    await loadTopics();
    resetAsk();
  } catch (e) { text($("session-error"), e.message); }
}

async function endSession() {
  const pin = prompt("请输入民警口令结束本次问答");
  if (!pin) return;
  try { await api("DELETE", "/api/session", { pin }); } catch (e) { alert(e.message); return; }
  state.session = null; state.county = null;
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
}

const TITLES = { answered: "回答", flagged: "已经帮你记下来了", out_of_scope: "这个问题答不了" };

async function ask(question) {
  question = (question || "").trim();
  if (!question) { text($("ask-error"), "请先写下你的问题"); return; }
  busy(true);
  try {
    const a = await api("POST", "/api/ask", { question });
    state.lastAnswer = a;
    renderAnswer(a);
  } catch (e) {
    if (e.status === 403) { state.session = null; show("screen-session"); text($("session-error"), e.message); }
    else text($("ask-error"), e.message);
  } finally { busy(false); }
}

function renderAnswer(a) {
  const card = $("answer-card");
  card.className = `card ${a.alert ? "crisis" : a.status}`;
  text($("answer-title"), a.alert ? "我们很关心你" : TITLES[a.status]);
  text($("answer-question"), `你问：${a.question}`);
  text($("answer-text"), a.answer);
  const sources = $("answer-sources");
  sources.innerHTML = "";
  if (a.sources.length) {
    const h = document.createElement("strong");
    text(h, "依据：");
    const ul = document.createElement("ul");
    for (const s of a.sources) {
      const li = document.createElement("li");
      text(li, `${s.citation}（适用：${s.region}）`);
      ul.appendChild(li);
    }
    sources.append(h, ul);
  }
  const b = a.bureau || {};
  text($("answer-bureau"), b.name ? `${b.name}　电话：${b.phone || "暂未公布，请向监狱民警询问"}` +
    (b.address ? `　地址：${b.address}` : "") + (b.hours ? `　办公时间：${b.hours}` : "") : "");
  $("officer-alert").hidden = a.alert !== "crisis";
  $("not-solved").hidden = !(a.status === "answered" && a.question_id);
  $("feedback-message").hidden = true;
  show("screen-answer");
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
  const a = state.lastAnswer;
  if (!a || !window.speechSynthesis) return;
  speechSynthesis.cancel();
  const u = new SpeechSynthesisUtterance(a.answer);
  u.lang = "zh-CN";
  u.rate = 0.9;
  speechSynthesis.speak(u);
}

// ---------- privacy: after a while without a touch the asker's turn ends ----------
function touched() {
  clearTimeout(state.idleTimer);
  state.idleTimer = setTimeout(() => { if (state.session) endTurn(); }, IDLE_SECONDS * 1000);
}

// The session (county, inmate number) ends on the server too, so the next person's questions are never logged
// under the previous asker; the officer reopens with the county chosen again and the PIN.
async function endTurn() {
  try { await api("DELETE", "/api/session/current"); } catch (e) { /* the server ends it after 30 minutes */ }
  state.session = null; state.county = null;
  resetAsk();
  text($("where"), ""); $("end-session").hidden = true;
  $("county").value = ""; $("inmate").value = ""; $("pin").value = "";
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
  if (!window.speechSynthesis) $("read-aloud").hidden = true;
  await loadRegions();
  if (state.token && (await tokenStatus(state.token)) === "refused") {
    showRegister("本终端的登记码无效或已停用，请民警重新登记。");
  }
  else show(state.token ? "screen-session" : "screen-register");
  touched();
}

document.addEventListener("DOMContentLoaded", init);
