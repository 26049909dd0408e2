// The supervising officer's view: polls crisis alerts of this prison's kiosks every 3 seconds.
"use strict";
const $ = (id) => document.getElementById(id);
const SEEN_KEY = "officerSeen";   // acknowledged alerts survive a reload
const TOKEN_KEY = "officerKioskToken";   // after pairing once, the PIN alone signs in
const seen = new Set(JSON.parse(localStorage.getItem(SEEN_KEY) || "[]"));
let latest = [];
let timer = null;

function notSignedIn(message) {   // never "暂无提醒" when the view cannot see the alerts
  clearInterval(timer); timer = null;
  $("alerts-box").hidden = true; $("login").hidden = false;
  $("status").textContent = "未登录";
  $("error").textContent = `未登录：${message}`;
}

function beep() {   // a short two-tone sound, made in the page (no sound file to load)
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  const ctx = new Ctx();
  [880, 660].forEach((hz, i) => {
    const osc = ctx.createOscillator();
    osc.frequency.value = hz;
    osc.connect(ctx.destination);
    osc.start(ctx.currentTime + i * 0.25);
    osc.stop(ctx.currentTime + i * 0.25 + 0.2);
  });
  window.__beeps = (window.__beeps || 0) + 1;
}

async function poll(token, pin) {
  let res, data;
  try {
    res = await fetch("/api/officer/alerts", { headers: { "X-Kiosk-Token": token, "X-Officer-Pin": pin } });
    data = await res.json();
  } catch (e) { $("status").textContent = "连接中断，正在重试……"; return; }
  if (!res.ok) { notSignedIn((data.error && data.error.message.zh) || "出错了"); return; }
  $("login").hidden = true; $("alerts-box").hidden = false; $("error").textContent = "";
  const fresh = data.filter((a) => !seen.has(a.question_id) && !latest.includes(a.question_id));
  latest = data.map((a) => a.question_id);
  $("none").hidden = data.length > 0;
  const list = $("alerts");
  list.innerHTML = "";
  for (const a of data) {
    const li = document.createElement("li");
    li.className = seen.has(a.question_id) ? "" : "officer-alert";
    li.textContent = `${new Date(a.asked_at).toLocaleString("zh-CN")}　${a.kiosk}　服刑人员编号：` +
      `${a.inmate_number || "未登记"}　${a.text}`;
    list.appendChild(li);
  }
  if (fresh.length) beep();
  if (data.some((a) => !seen.has(a.question_id))) document.title = "【新提醒】值班民警提醒";
  $("status").textContent = `已连接，${new Date().toLocaleTimeString("zh-CN")} 更新`;
}

function acknowledge() {   // a touch acknowledges what is on screen
  latest.forEach((id) => seen.add(id));
  localStorage.setItem(SEEN_KEY, JSON.stringify([...seen].slice(-500)));
  document.querySelectorAll("#alerts li").forEach((li) => { li.className = ""; });
  document.title = "值班民警提醒";
}

async function pairedToken(code, pin) {   // the pairing code and PIN traded for the kiosk's device code
  const res = await fetch("/api/officer/pair", { method: "POST", headers: { "Content-Type": "application/json" },
                                                 body: JSON.stringify({ code, pin }) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((data.error && data.error.message.zh) || "配对失败");
  return data.token;
}

async function start() {
  const pin = $("pin").value.trim(), code = $("pair-code").value.trim();
  let token = $("token").value.trim() || localStorage.getItem(TOKEN_KEY) || "";
  $("error").textContent = "";
  clearInterval(timer);
  if (code) {
    try { token = await pairedToken(code, pin); } catch (e) { notSignedIn(e.message); return; }
  }
  if (!token) { notSignedIn("请输入终端上显示的配对码"); return; }
  localStorage.setItem(TOKEN_KEY, token);
  $("pair-code").value = "";
  poll(token, pin);
  timer = setInterval(() => poll(token, pin), 3000);
}

document.addEventListener("DOMContentLoaded", () => {
  $("watch").addEventListener("click", start);
  $("alerts-box").addEventListener("click", acknowledge);
});
