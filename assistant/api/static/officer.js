// The supervising officer's view: polls crisis alerts of this prison's kiosks every 3 seconds.
"use strict";
const $ = (id) => document.getElementById(id);
let seen = new Set();
let latest = [];

async function poll(token, pin) {
  try {
    const res = await fetch("/api/officer/alerts", { headers: { "X-Kiosk-Token": token, "X-Officer-Pin": pin } });
    const data = await res.json();
    if (!res.ok) throw new Error((data.error && data.error.message.zh) || "出错了");
    latest = data.map((a) => a.question_id);
    $("none").hidden = data.length > 0;
    const list = $("alerts");
    list.innerHTML = "";
    for (const a of data) {
      const li = document.createElement("li");
      li.className = seen.has(a.question_id) ? "" : "officer-alert";
      li.textContent = `${new Date(a.asked_at).toLocaleString("zh-CN")}　${a.kiosk}：${a.text}`;
      list.appendChild(li);
    }
    if (data.some((a) => !seen.has(a.question_id))) document.title = "【新提醒】值班民警提醒";
    $("status").textContent = `已连接，${new Date().toLocaleTimeString("zh-CN")} 更新`;
  } catch (e) { $("status").textContent = e.message; }
}

document.addEventListener("DOMContentLoaded", () => {
  $("watch").addEventListener("click", () => {
    const token = $("token").value.trim(), pin = $("pin").value.trim();
    $("login").hidden = true; $("alerts-box").hidden = false;
    poll(token, pin);
    setInterval(() => poll(token, pin), 3000);
    document.addEventListener("click", () => {   // a touch acknowledges what is on screen
      latest.forEach((id) => seen.add(id));
      document.querySelectorAll("#alerts li").forEach((li) => { li.className = ""; });
      document.title = "值班民警提醒";
    });
  });
});
