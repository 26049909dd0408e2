// 帮教问答 kiosk: the conversation on the screen.
// Loaded after kiosk.js and uses its globals ($, text, state, api). kiosk.js calls conversationAdded,
// conversationShow, conversationForget and conversationClear; everything else stays here.
"use strict";

const conversation = { turns: [] };
const CONV_TITLES = { answered: "回答", flagged: "已经帮你记下来了", out_of_scope: "这个问题答不了" };

// ---------- the conversation on the screen ----------
function conversationAdded(a) {
  conversation.turns.push(a);
  if (conversation.turns.length > 10) conversation.turns.shift();  // the server keeps the same ten
  renderConversation(true);
}

function conversationShow() {
  renderConversation(false);
}

function conversationForget() {
  conversation.turns = [];
  $("turns").innerHTML = "";
  $("conversation").hidden = true;
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
  return li;
}
