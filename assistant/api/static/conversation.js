// 帮教问答 kiosk: the conversation on the screen, read-aloud by the server, the take-away slip.
// Loaded after kiosk.js and uses its globals ($, text, state, api). kiosk.js calls conversationAdded,
// conversationShow, conversationForget, conversationClear and speakAnswer; everything else stays here.
"use strict";

const conversation = { turns: [], audioUrl: null, pageRule: null };
const CONV_TITLES = { answered: "回答", flagged: "已经帮你记下来了", out_of_scope: "这个问题答不了" };

// ---------- the conversation on the screen ----------
function conversationAdded(a) {
  conversation.turns.push(a);
  if (conversation.turns.length > 10) conversation.turns.shift();  // the server keeps the same ten
  renderConversation(true);
}

function conversationShow() {
  stopSpeech();
  $("slip-message").hidden = true;
  renderConversation(false);
}

function conversationForget() {
  conversation.turns = [];
  stopSpeech();
  $("turns").innerHTML = "";
  $("slip").innerHTML = "";
  $("conversation").hidden = true;
  $("slip-message").hidden = true;
}

function conversationClear() {
  // idle clear: the next person must see nothing of this, and must not be answered in its context
  if (state.session) api("DELETE", "/api/conversation").catch(() => {});
  conversationForget();
}

function renderConversation(answerShown) {
  // on the answer screen the newest turn is the answer card itself: list only the earlier ones
  const earlier = answerShown ? conversation.turns.slice(0, -1) : conversation.turns;
  const list = $("turns");
  list.innerHTML = "";
  for (const a of earlier) list.appendChild(turnItem(a));
  $("conversation").hidden = earlier.length === 0;
  list.scrollTop = list.scrollHeight;  // newest at the bottom, in view
}

function turnItem(a) {
  const li = document.createElement("li");
  li.className = `turn ${a.alert ? "crisis" : a.status}`;
  const q = document.createElement("p");
  q.className = "turn-q";
  text(q, `你问：${a.question}`);
  const title = document.createElement("p");
  title.className = "turn-title";
  text(title, a.alert ? "我们很关心你" : CONV_TITLES[a.status]);
  const ans = document.createElement("div");
  ans.className = "turn-a";
  text(ans, a.answer);
  li.append(q, title, ans);
  if (a.sources && a.sources.length) {
    const src = document.createElement("p");
    src.className = "turn-src";
    text(src, "依据：" + a.sources.map((s) => `${s.citation}（${s.region}）`).join("；"));
    li.appendChild(src);
  }
  if (a.basis) li.appendChild(el("p", "turn-src", a.basis));
  return li;
}

// ---------- read-aloud: the server synthesises the speech (espeak-ng), the page plays it ----------
function speechButton(label) { text($("read-aloud"), label); }

function stopSpeech() {
  const audio = $("speech-audio");
  audio.pause();
  audio.removeAttribute("src");
  if (conversation.audioUrl) { URL.revokeObjectURL(conversation.audioUrl); conversation.audioUrl = null; }
  speechButton("朗读");
  $("speech-message").hidden = true;
}

function speechProblem(message) {
  text($("speech-message"), message);
  $("speech-message").hidden = false;
  speechButton("朗读");
}

async function speakAnswer(a) {
  const audio = $("speech-audio");
  if (conversation.audioUrl && !audio.paused) { stopSpeech(); return; }  // a second press stops it
  stopSpeech();
  if (!a || !a.turn) { speechProblem("没有可以朗读的回答。"); return; }
  speechButton("正在准备朗读……");
  const headers = {};
  if (state.token) headers["X-Kiosk-Token"] = state.token;
  if (state.session) headers["X-Kiosk-Session"] = state.session;
  let res;
  try { res = await fetch(`/api/speech?turn=${encodeURIComponent(a.turn)}`, { headers }); }
  catch (e) { speechProblem("朗读暂时不能用（连不上服务器），请请民警帮你读一下。"); return; }
  if (!res.ok) {
    const data = await res.json().catch(() => ({}));
    speechProblem((data.error && data.error.message && data.error.message.zh) || "朗读暂时不能用，请请民警帮你读一下。");
    return;
  }
  const blob = await res.blob();
  if (state.lastAnswer !== a) return;  // the screen moved on while the speech was made
  conversation.audioUrl = URL.createObjectURL(blob);
  audio.src = conversation.audioUrl;
  audio.onended = () => speechButton("朗读");
  try {
    await audio.play();
    speechButton("停止朗读");
  } catch (e) {
    speechProblem("这台终端放不出声音，请请民警帮你读一下。");
  }
}

// ---------- the take-away slip: this session's answers, printed (A5 or an 80 mm receipt) ----------
const PAPER = new URLSearchParams(location.search).get("paper") === "receipt" ? "receipt" : "a5";

function el(tag, className, value) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (value != null) text(node, value);
  return node;
}

function fillSlip(data) {
  const slip = $("slip");
  slip.className = `slip ${PAPER}`;
  slip.innerHTML = "";
  const head = el("header", "slip-head");
  head.append(el("h1", null, data.title), el("p", null, `户籍地：${data.county.name}　日期：${data.date}`));
  const list = el("ol", "slip-turns");
  for (const t of data.turns) {
    const li = el("li", `slip-turn ${t.status}`);
    li.append(el("h2", null, `问：${t.question}`), el("p", "slip-answer", t.answer));
    if (t.applies) li.appendChild(el("p", "slip-small", `适用：${t.applies}`));
    if (t.sources.length) li.appendChild(el("p", "slip-small", `依据：${t.sources.join("；")}`));
    if (t.basis) li.appendChild(el("p", "slip-small", t.basis));
    list.appendChild(li);
  }
  const b = data.bureau;
  const box = el("section", "slip-bureau");
  box.append(el("h2", null, "有事请找户籍地司法局"), el("p", null, b.name), el("p", null, `电话：${b.phone}`),
             el("p", null, `地址：${b.address}`), el("p", null, `办公时间：${b.hours}`));
  const foot = el("footer", "slip-foot");
  for (const n of data.notes) foot.appendChild(el("p", null, n));
  slip.append(head, list, box, foot);
  if (PAPER === "receipt") sizeReceipt(slip);
}

function sizeReceipt(slip) {
  // a roll has no page length: make the page as long as the slip (measured off screen at print width)
  slip.classList.add("measure");
  const mm = slip.getBoundingClientRect().height * 25.4 / 96;
  slip.classList.remove("measure");
  const sheet = [...document.styleSheets].find((s) => s.href && s.href.endsWith("/conversation.css"));
  if (!sheet) return;
  if (conversation.pageRule != null) sheet.deleteRule(conversation.pageRule);
  conversation.pageRule = sheet.insertRule(`@page slip-receipt { size: 80mm ${Math.ceil(mm) + 14}mm; margin: 3mm 4mm; }`,
                                           sheet.cssRules.length);
}

async function printSlip() {
  const msg = $("slip-message");
  msg.hidden = true;
  try {
    const data = await api("GET", "/api/conversation");
    if (!data.turns.length) { text(msg, "还没有可以打印的回答。"); msg.hidden = false; return; }
    fillSlip(data);
    window.print();
  } catch (e) { text(msg, e.message); msg.hidden = false; }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".print-slip").forEach((b) => b.addEventListener("click", printSlip));
  $("slip").className = `slip ${PAPER}`;
});
