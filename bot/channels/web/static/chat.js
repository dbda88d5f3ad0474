// The resident's chat: questions and buttons without page reloads, and officers' answers as they
// arrive (server-sent events). Without this script every form still works as a plain page.
// Text from the server is only ever inserted as text (textContent / text nodes), never as HTML.
(function () {
  "use strict";

  const meta = document.querySelector('meta[name="csrf-token"]');
  const chat = document.getElementById("chat");
  const log = document.getElementById("log") || document.querySelector(".log");
  const slug = chat ? chat.dataset.slug : decodeURIComponent(location.pathname.split("/")[2] || "");

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child); // strings become text nodes
    }
    return node;
  }

  function csrfInput() {
    return el("input", { type: "hidden", name: "csrf", value: meta ? meta.content : "" });
  }

  async function refreshCsrf() {
    const response = await fetch("/session/csrf", { credentials: "same-origin", headers: { Accept: "application/json" } });
    const data = await response.json();
    if (meta) meta.content = data.csrf;
    for (const input of document.querySelectorAll('input[name="csrf"]')) input.value = data.csrf;
  }

  // One retry after a 403 for an expired session: the page may have been open for a long time.
  async function send(url, body, retried) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": meta ? meta.content : "" },
      body: JSON.stringify(body),
    });
    if (response.status === 403 && !retried) {
      const data = await response.clone().json().catch(() => ({}));
      if (data.error === "csrf") {
        await refreshCsrf();
        return send(url, body, true);
      }
    }
    return response;
  }

  function say(node) {
    log.append(node);
    // The start of a reply, its title first, comes into view; the resident scrolls on from there.
    const mine = node.classList.contains("me");
    node.scrollIntoView({ block: mine ? "nearest" : "start", behavior: mine ? "smooth" : "auto" });
  }

  function sayText(text, cls) {
    say(el("div", { class: "msg " + (cls || "bot") }, el("p", {}, text)));
  }

  function card(entry) {
    const article = el("article", { class: "card answer-card" }, el("h3", {}, entry.title), el("p", { class: "summary" }, entry.summary));
    for (const field of entry.fields) {
      const section = el("section", { class: "field" }, el("h4", {}, field.label));
      if (field.lines) section.append(el("ol", {}, ...field.lines.map((item) => el("li", {}, item))));
      else section.append(el("p", {}, field.text));
      article.append(section);
    }
    if (entry.checked) {
      const source = entry.source ? "（依据：" + entry.source + "）" : "";
      article.append(el("p", { class: "meta" }, "信息核对日期：" + entry.checked + "，具体以当地公安最新公布为准" + source));
    }
    return article;
  }

  function consultationForm(action, cls, reply, ...children) {
    return el(
      "form",
      { method: "post", action: "/c/" + encodeURIComponent(slug) + "/" + action, class: cls + " js-inline" },
      csrfInput(),
      el("input", { type: "hidden", name: "consultation_id", value: String(reply.consultation_id) }),
      el("input", { type: "hidden", name: "ref", value: reply.ref || "" }),
      ...children
    );
  }

  function replyNode(reply) {
    const box = el("div", { class: "msg bot", "data-outcome": reply.outcome });
    if (reply.emergency) {
      const alarm = el("div", { class: "emergency", role: "alert" }, el("p", {}, reply.emergency));
      if (reply.urgent_kind) alarm.dataset.kind = reply.urgent_kind;
      (reply.call || ["110"]).forEach((number, i) => {
        alarm.append(el("a", { class: "call", href: "tel:" + String(number).replace(/[^\d+]/g, "") }, (i === 0 ? "立即拨打 " : "") + number), " ");
      });
      box.append(alarm);
    }
    if (reply.notice_text) box.append(el("p", { class: "notice" }, reply.notice_text));
    if (reply.entry) {
      if (reply.field_answer) {
        // The part asked for first; the whole card one tap away.
        box.append(el("div", { class: "field-answer" }, el("h3", {}, reply.field_answer.heading), el("p", {}, reply.field_answer.text)));
        box.append(el("details", { class: "full-card" }, el("summary", {}, "查看完整办事指南"), card(reply.entry)));
      } else {
        box.append(card(reply.entry));
      }
      box.append(
        consultationForm("helpful", "rate", reply, el("span", {}, "这个回答对您有用吗？"),
          el("button", { name: "value", value: "useful" }, "有用"), el("button", { name: "value", value: "not_useful" }, "没用"))
      );
      box.append(consultationForm("escalate", "escalate", reply, el("button", { class: "secondary" }, "还是不明白，转社区民警")));
    } else if (reply.outcome === "clarify" && reply.choices.length) {
      box.append(el("p", {}, "您想问的是下面哪一项？"));
      const list = el("ul", { class: "choices" });
      for (const choice of reply.choices) {
        const href = "/c/" + encodeURIComponent(slug) + "/entry/" + encodeURIComponent(choice.entry_id);
        list.append(el("li", {}, el("a", { class: "choice js-entry", rel: "nofollow", href: href }, choice.title)));
      }
      box.append(list);
      box.append(consultationForm("escalate", "escalate", reply, el("button", { class: "secondary" }, "都不是，转民警")));
    } else if (reply.escalation) {
      const info = el("div", { class: "ticket-new" }, el("p", {}, reply.escalation.text));
      if (reply.escalation.ticket) info.append(el("p", {}, "工单号：", el("strong", { class: "ticket-no" }, reply.escalation.ticket)));
      if (reply.escalation.due) info.append(el("p", {}, "预计答复时间：" + reply.escalation.due + " 前（首问负责、限时办结）"));
      info.append(el("p", { class: "meta" }, "民警答复后会显示在本页“我的咨询工单”里，关闭页面后再来也能看到。"));
      if (reply.suggestion) {
        // The guide the question is likeliest about: a pointer while the officers answer, not an answer.
        const href = "/c/" + encodeURIComponent(slug) + "/entry/" + encodeURIComponent(reply.suggestion.entry_id);
        info.append(el("p", { class: "suggestion" }, "等待答复时，您可以先看看可能相关的办事指南：",
          el("a", { class: "choice js-entry", rel: "nofollow", href: href }, reply.suggestion.title)));
      }
      box.append(info);
      if (reply.escalation.callback) {
        const phone = el("input", { type: "tel", name: "phone", maxlength: "32", autocomplete: "tel", inputmode: "tel", placeholder: "手机号" });
        box.append(consultationForm("callback", "callback", reply,
          el("label", {}, "方便的话留个电话，民警会打给您（可不填）：", phone), el("button", {}, "留下电话")));
      }
    }
    return box;
  }

  // ---- "my tickets": created on escalation, filled in when the officer answers ----
  const tickets = document.getElementById("tickets");

  function findTicket(ticket) {
    if (!tickets) return null;
    for (const item of tickets.children) if (item.dataset.ticket === ticket) return item;
    return null;
  }

  function ensureTicket(ticket, question, due) {
    let item = findTicket(ticket);
    if (item || !tickets) return item;
    item = el("li", { class: "ticket card", "data-ticket": ticket },
      el("p", {}, el("strong", {}, ticket), " ", el("span", { class: "status status-open" }, "等待民警认领")),
      el("p", { class: "question" }, question || ""),
      due ? el("p", { class: "meta" }, "预计 " + due + " 前答复") : null);
    tickets.prepend(item);
    const empty = document.getElementById("no-tickets");
    if (empty) empty.hidden = true;
    return item;
  }

  function showAnswer(data) {
    const item = ensureTicket(data.ticket, data.question, null);
    if (!item) return;
    const existing = item.querySelector(".answer-text");
    if (existing && existing.textContent === data.answer) return; // already on the page
    item.dataset.escalationId = String(data.escalation_id);
    const status = item.querySelector(".status");
    if (status) {
      status.textContent = "民警已答复";
      status.className = "status status-answered";
    }
    for (const old of item.querySelectorAll(".officer-answer, .meta")) old.remove();
    const when = data.answered_at ? "（" + data.answered_at + "）" : "";
    item.append(el("div", { class: "officer-answer" }, el("h4", {}, (data.officer || "社区民警") + "的答复" + when), el("p", { class: "answer-text" }, data.answer)));
    if (!item.querySelector('form[action$="/satisfaction"]')) {
      const template = document.getElementById("tpl-satisfaction");
      if (template) {
        const form = template.content.firstElementChild.cloneNode(true);
        form.querySelector('input[name="escalation_id"]').value = String(data.escalation_id);
        form.querySelector('input[name="csrf"]').value = meta ? meta.content : "";
        item.append(form);
      }
    }
    sayText("民警已答复您的工单 " + data.ticket + "：" + data.answer);
  }

  // ---- events ----
  let lastQuestion = "";

  async function ask(question) {
    lastQuestion = question;
    sayText(question, "me");
    const response = await send("/c/" + encodeURIComponent(slug) + "/ask", { question: question });
    if (response.status === 429) {
      const body = await response.json().catch(() => ({}));
      sayText(body.message || "您提问太频繁了，请稍等一会儿再问。紧急情况请直接拨打 110。");
      return;
    }
    if (!response.ok) {
      sayText("发送失败，请稍后再试。紧急情况请直接拨打 110。");
      return;
    }
    const reply = await response.json();
    const replies = reply.parts && reply.parts.length ? reply.parts : [reply];
    replies.forEach((one, i) => {
      const node = replyNode(one);
      if (replies.length > 1) node.prepend(el("p", { class: "part-no" }, "第 " + (i + 1) + " 个问题"));
      say(node);
      if (one.escalation && one.escalation.ticket) ensureTicket(one.escalation.ticket, question, one.escalation.due);
    });
  }

  const form = document.getElementById("ask-form");
  if (form) {
    const input = form.querySelector("textarea");
    const button = form.querySelector("button");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const question = input.value.trim();
      if (!question) return;
      button.disabled = true;
      try {
        await ask(question);
        input.value = "";
      } catch (error) {
        sayText("网络不通，请稍后再试。紧急情况请直接拨打 110。");
      } finally {
        button.disabled = false;
        input.focus();
      }
    });
    input.addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter is a new line; never while a Chinese input method is composing.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  document.addEventListener("click", async (event) => {
    const link = event.target.closest("a.js-entry");
    if (!link || !log) return;
    event.preventDefault();
    sayText(link.textContent, "me");
    const response = await fetch(link.href, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) say(replyNode(await response.json()));
    else sayText("打开失败，请稍后再试。");
  });

  document.addEventListener("submit", async (event) => {
    const target = event.target;
    if (!target.classList || !target.classList.contains("js-inline")) return;
    event.preventDefault();
    const body = Object.fromEntries(new FormData(target, event.submitter).entries());
    delete body.csrf;
    for (const button of target.querySelectorAll("button")) button.disabled = true;
    const response = await send(target.action, body);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      target.replaceWith(el("p", { class: "meta" }, data.message || "操作失败，请刷新页面后再试。"));
    } else if (data.outcome) {
      target.remove();
      say(replyNode(data));
      if (data.escalation && data.escalation.ticket) ensureTicket(data.escalation.ticket, lastQuestion, data.escalation.due);
    } else {
      target.replaceWith(el("p", { class: "thanks" }, data.message || "谢谢！"));
    }
  });

  if (chat && window.EventSource) {
    const source = new EventSource("/c/" + encodeURIComponent(slug) + "/events");
    source.addEventListener("answer", (event) => {
      try {
        showAnswer(JSON.parse(event.data));
      } catch (error) {
        /* a malformed event is ignored; the page shows the answer after a reload */
      }
    });
  }
})();
