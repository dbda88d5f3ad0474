// The officers' console: new tickets of their communities appear at the top as they arrive (server-sent
// events from /console/events), with a sound and a browser notification when the officer turned
// them on (off by default; the choice is kept in this browser).
(() => {
  "use strict";
  const box = document.getElementById("live");
  if (!box || !window.EventSource) return;
  const toggle = document.getElementById("alerts");
  const KEY = "policebot-console-alerts";
  let on = localStorage.getItem(KEY) === "1";

  function label() {
    if (!toggle) return;
    toggle.textContent = on ? "关闭新工单提醒" : "开启新工单提醒（声音和通知）";
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
  }
  if (toggle) {
    label();
    toggle.addEventListener("click", () => {
      on = !on;
      localStorage.setItem(KEY, on ? "1" : "0");
      label();
      if (on && "Notification" in window && Notification.permission === "default") {
        // Asked once; without permission the sound and the list still work.
        Promise.resolve(Notification.requestPermission()).catch(() => {});
      }
    });
  }

  let audio = null;
  function beep(urgent) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = urgent ? 880 : 660;
      gain.gain.value = 0.15;
      tone.connect(gain);
      gain.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + (urgent ? 0.8 : 0.25));
    } catch (e) { /* no audio: the list and the notification remain */ }
  }

  function text(tag, cls, value) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    node.textContent = value;
    return node;
  }

  const source = new EventSource("/console/events");
  source.addEventListener("ticket", (event) => {
    const t = JSON.parse(event.data);
    const item = document.createElement("li");
    item.className = "card escalation new-ticket" + (t.urgent ? " urgent" : "");
    const head = document.createElement("p");
    const link = document.createElement("a");
    link.href = "/console/e/" + encodeURIComponent(t.id);
    link.append(text("strong", "", t.ticket));
    head.append(text("span", "badge", "新工单"), " ", link, " ");
    if (t.urgent) head.append(text("span", "badge danger", "紧急 · " + (t.urgent_label || "")));
    item.append(head, text("p", "question", t.question), text("p", "meta", t.community));
    box.prepend(item);
    box.hidden = false;
    if (on) {
      beep(t.urgent);
      if ("Notification" in window && Notification.permission === "granted") {
        try {
          new Notification((t.urgent ? "紧急工单 " : "新工单 ") + t.ticket, { body: t.question, tag: t.ticket });
        } catch (e) { /* some browsers allow notifications from a service worker only */ }
      }
    }
  });
})();
