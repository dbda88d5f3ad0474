// The dashboard's charts, drawn in the browser with Apache ECharts (static/vendor/echarts) from
// /api/v1/stats for the period and community the page shows (the admin's session authorises it).
// Hovering shows a figure; a click (or tap) on a day, topic, community or outcome opens the questions
// behind it. Every figure is in the page's tables as well, for screen readers and for browsers
// without JavaScript: when a chart is drawn, its table under it is folded away.
(() => {
  "use strict";
  const box = document.getElementById("charts");
  if (!box || !window.echarts || !window.fetch) return;
  const period = { since: box.dataset.since, until: box.dataset.until };
  const community = box.dataset.community || "";

  const OUTCOMES = [
    ["answered", "answer", "机器人解答"],
    ["clarified", "clarify", "追问澄清"],
    ["escalated", "escalate", "转民警"],
  ];
  const STATUSES = { open: "待认领", claimed: "办理中", answered: "已答复", closed: "已办结" };
  const SATISFACTION = { satisfied: "满意", basically: "基本满意", unsatisfied: "不满意" };
  const BLUE = "#1f5fa8";
  const FONT_SIZE = 13; // at least 12 px on a phone
  const ROW_HEIGHT = 36; // a bar a finger can hit
  const DAY_CHART_HEIGHT = 300;
  const MAX_FILLED_DAYS = 400; // beyond about a year, days without questions are left out
  const TOPICS_SHOWN = 10;
  const COMMUNITIES_SHOWN = 12;
  const DAY_MS = 24 * 3600 * 1000;
  const charts = [];

  function questionsUrl(narrow) {
    const params = new URLSearchParams(period);
    if (community) params.set("community", community);
    for (const [key, value] of Object.entries(narrow)) params.set(key, value);
    return "/admin/questions?" + params.toString();
  }

  // Labels by key, from the page itself: the tables under the charts (entry titles, community names),
  // else the filter's list of communities.
  function labelsOf(kind) {
    const labels = {};
    document.querySelectorAll(`table[data-chart="${kind}"] tr[data-key]`).forEach((row) => {
      const head = row.querySelector("th");
      if (head) labels[row.dataset.key] = head.textContent.trim();
    });
    if (kind === "communities") {
      document.querySelectorAll('select[name="community"] option[value]').forEach((option) => {
        if (option.value && !labels[option.value]) labels[option.value] = option.textContent.trim();
      });
    }
    return labels;
  }

  function esc(text) {
    return window.echarts.format.encodeHTML(String(text));
  }

  function tooltipText(label, value, unit) {
    return `<strong>${esc(label)}</strong><br>${esc(value)} ${esc(unit)}`;
  }

  function labelWidth(el) {
    // Long Chinese titles get about two fifths of a phone's width, then an ellipsis (the tooltip
    // and the table give them whole).
    return Math.max(96, Math.min(220, Math.round(el.clientWidth * 0.4)));
  }

  function base() {
    const style = getComputedStyle(document.documentElement);
    return {
      animation: false,
      textStyle: { fontFamily: style.fontFamily, fontSize: FONT_SIZE },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        confine: true,
        textStyle: { fontSize: 14 },
      },
      grid: { left: 8, right: 48, top: 12, bottom: 8, containLabel: true },
    };
  }

  function noData(option) {
    option.graphic = {
      type: "text",
      left: "center",
      top: "middle",
      style: { text: "暂无数据", fontSize: 14, fill: "#5f6368" },
    };
    return option;
  }

  // Horizontal bars: long labels read along their own line. rows: [{key, label, value}].
  function barsOption(el, rows, unit, clickable) {
    const labels = Object.fromEntries(rows.map((r) => [r.key, r.label]));
    const option = Object.assign(base(), {
      xAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 12 } },
      yAxis: {
        type: "category",
        inverse: true, // the largest first, at the top
        data: rows.map((r) => r.key),
        triggerEvent: clickable,
        axisTick: { show: false },
        axisLabel: {
          fontSize: FONT_SIZE,
          width: labelWidth(el),
          overflow: "truncate",
          formatter: (key) => labels[key] || key,
        },
      },
      series: [
        {
          type: "bar",
          data: rows.map((r) => r.value),
          barMaxWidth: 26,
          itemStyle: { color: BLUE },
          cursor: clickable ? "pointer" : "default",
          label: { show: true, position: "right", fontSize: 12 },
        },
      ],
    });
    option.tooltip.formatter = (items) => tooltipText(labels[items[0].name], items[0].value, unit);
    return rows.some((r) => r.value > 0) ? option : noData(option);
  }

  function daysOption(rows) {
    const counts = Object.fromEntries(rows.map((r) => [r.day, r.questions]));
    const days = everyDay(period.since, period.until) || rows.map((r) => r.day);
    const option = Object.assign(base(), {
      xAxis: {
        type: "category",
        data: days,
        axisLabel: { fontSize: 12, formatter: (day) => day.slice(5), hideOverlap: true },
      },
      yAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 12 } },
      series: [
        { type: "bar", data: days.map((d) => counts[d] || 0), barMaxWidth: 24, itemStyle: { color: BLUE } },
      ],
    });
    option.grid.right = 16;
    option.tooltip.formatter = (items) => tooltipText(items[0].name, items[0].value, "条提问");
    return rows.length ? option : noData(option);
  }

  function everyDay(first, last) {
    const start = Date.parse(first + "T00:00:00Z");
    const end = Date.parse(last + "T00:00:00Z");
    if (!(end >= start) || (end - start) / DAY_MS >= MAX_FILLED_DAYS) return null;
    const days = [];
    for (let t = start; t <= end; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
    return days;
  }

  // What each chart shows, and where a click on one of its categories leads (none: not clickable).
  function plans(stats) {
    const topics = labelsOf("topics");
    const names = labelsOf("communities");
    const fixed = (counts, words) =>
      Object.entries(words).map(([key, label]) => ({ key, label, value: counts[key] || 0 }));
    return {
      days: { option: () => daysOption(stats.by_day), open: (day) => ({ day }), height: DAY_CHART_HEIGHT },
      outcomes: {
        rows: OUTCOMES.map(([field, key, label]) => ({ key, label, value: stats[field] })),
        unit: "条提问",
        open: (outcome) => ({ outcome }),
      },
      topics: {
        rows: stats.by_entry.slice(0, TOPICS_SHOWN).map((r) => ({
          key: r.entry,
          label: topics[r.entry] || r.entry,
          value: r.consultations,
        })),
        unit: "次咨询",
        open: (entry) => ({ entry, views: "1" }),
      },
      communities: {
        rows: stats.by_community.slice(0, COMMUNITIES_SHOWN).map((r) => ({
          key: r.community,
          label: names[r.community] || r.community,
          value: r.consultations,
        })),
        unit: "次咨询",
        open: (slug) => ({ community: slug, views: "1" }),
      },
      escalations: { rows: fixed(stats.escalations, STATUSES), unit: "件" },
      satisfaction: { rows: fixed(stats.satisfaction, SATISFACTION), unit: "次评价" },
    };
  }

  function draw(el, plan) {
    el.hidden = false;
    const rows = plan.rows || [];
    el.style.height = (plan.height || Math.max(170, rows.length * ROW_HEIGHT + 60)) + "px";
    // SVG: crisp on any screen, and the labels are text in the page.
    const chart = window.echarts.init(el, null, { renderer: "svg" });
    const option = plan.option ? plan.option() : barsOption(el, rows, plan.unit, Boolean(plan.open));
    chart.setOption(option);
    if (plan.open) clickThrough(chart, plan.open, option);
    charts.push({ chart, el, horizontal: !plan.option });
    const details = el.parentElement.querySelector("details.chart-data");
    if (details) details.open = false;
  }

  function clickThrough(chart, open, option) {
    const categories = (option.yAxis.type === "category" ? option.yAxis : option.xAxis).data;
    const horizontal = option.yAxis.type === "category";
    const go = (key) => {
      if (key) window.location.assign(questionsUrl(open(key)));
    };
    // Anywhere in a category's row or column, not only on its bar: a short bar is hard to tap.
    chart.getZr().on("click", (event) => {
      const point = [event.offsetX, event.offsetY];
      if (!chart.containPixel("grid", point)) return;
      const [x, y] = chart.convertFromPixel({ seriesIndex: 0 }, point);
      go(categories[Math.round(horizontal ? y : x)]);
    });
    chart.on("click", (params) => {
      if (params.componentType === "yAxis" || params.componentType === "xAxis") go(params.value);
    });
  }

  function failed(message) {
    box.querySelectorAll(".chart[data-chart]").forEach((el) => {
      el.hidden = false;
      el.classList.add("chart-failed");
      el.textContent = message;
    });
  }

  let pending = 0;
  window.addEventListener("resize", () => {
    if (pending) return;
    pending = window.requestAnimationFrame(() => {
      pending = 0;
      for (const { chart, el, horizontal } of charts) {
        if (horizontal) chart.setOption({ yAxis: { axisLabel: { width: labelWidth(el) } } });
        chart.resize();
      }
    });
  });

  const params = new URLSearchParams({ from: period.since, to: period.until });
  if (community) params.set("community", community);
  fetch("/api/v1/stats?" + params.toString(), {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  })
    .then((response) => {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    })
    .then((stats) => {
      const all = plans(stats);
      box.querySelectorAll(".chart[data-chart]").forEach((el) => {
        const plan = all[el.dataset.chart];
        if (plan) draw(el, plan);
      });
      box.dataset.drawn = "true";
    })
    .catch(() => failed("图表暂时无法显示，数据见下方和上方的表格。"));
})();
