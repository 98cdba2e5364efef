// Pipeline Pulse reference dashboard: plain browser JavaScript, no build step, every asset served by the API.
//
// Panels register themselves: Dashboard.registerPanel({id, title, order, render(ctx, body)}). On every change of
// token or selectors each panel's render gets a context:
//   ctx.api(path, params)       -> parsed JSON of GET /api/v1<path> with the bearer token (throws ApiProblem)
//   ctx.download(path, params)  -> saves the CSV answer (format=csv) as a file
//   ctx.filters(extra)          -> the selected region / pipeline / closing period as query parameters
//   ctx.state                   -> {region, pipeline, closingFrom, closingTo, regions, pipelines, stages}
//   ctx.money(x), ctx.number(x), ctx.percent(x), ctx.figure(metric, value, label, format)
//   ctx.chart(canvas, config)   -> a Chart.js chart replacing the canvas's previous one
// The token comes from the URL fragment (#token=..., never sent to the server, removed from the address bar)
// or the token field, and is kept in sessionStorage only.
"use strict";

const Dashboard = (() => {
  const TOKEN_KEY = "pipeline-pulse-token";
  const panels = [];
  const charts = new Map();
  const state = { region: "", pipeline: "", closingFrom: "", closingTo: "", regions: [], pipelines: [], stages: [] };
  let token = "";
  let generation = 0;

  class ApiProblem extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function registerPanel(panel) {
    panels.push(panel);
    panels.sort((a, b) => (a.order ?? 100) - (b.order ?? 100));
  }

  function query(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
    }
    const text = search.toString();
    return text ? `?${text}` : "";
  }

  async function request(path, params, accept) {
    const response = await fetch(`/api/v1${path}${query(params)}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: accept },
    });
    if (!response.ok) {
      let message = `${response.status}`;
      try {
        message = (await response.json()).error.message;
      } catch (_ignored) {
        // not our error body
      }
      throw new ApiProblem(response.status, message);
    }
    return response;
  }

  async function api(path, params) {
    return (await request(path, params, "application/json")).json();
  }

  async function download(path, params, filename) {
    const response = await request(path, { ...params, format: "csv" }, "text/csv");
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = filename;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  function filters(extra) {
    return {
      region: state.region,
      pipeline: state.pipeline,
      closing_from: state.closingFrom,
      closing_to: state.closingTo,
      ...(extra || {}),
    };
  }

  const moneyFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const money = (value) => (value === null || value === undefined ? "—" : moneyFormat.format(Number(value)));
  const number = (value) => (value === null || value === undefined ? "—" : Number(value).toLocaleString("en-US"));
  const percent = (value) => (value === null || value === undefined ? "—" : `${(100 * Number(value)).toFixed(1)}%`);

  function figure(metric, value, label, format) {
    const element = document.createElement("div");
    element.className = "figure";
    element.dataset.metric = metric;
    element.dataset.value = value === null || value === undefined ? "" : String(value);
    const shown = document.createElement("div");
    shown.className = "value";
    shown.textContent = format(value);
    const caption = document.createElement("div");
    caption.className = "label";
    caption.textContent = label;
    element.append(shown, caption);
    return element;
  }

  function chart(canvas, config) {
    const previous = charts.get(canvas.id);
    if (previous) previous.destroy();
    config.options = { animation: false, responsive: true, maintainAspectRatio: false, ...(config.options || {}) };
    const created = new window.Chart(canvas, config);
    charts.set(canvas.id, created);
    return created;
  }

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key in node) node[key] = value;
      else node.setAttribute(key, value);
    }
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }

  function table(columns, rows) {
    const head = element("tr", {}, ...columns.map((column) => element("th", {}, column.label)));
    const body = rows.map((row) =>
      element(
        "tr",
        { dataset: row.dataset || {} },
        ...columns.map((column) => {
          const raw = column.value(row);
          return element("td", { dataset: { column: column.key, value: raw ?? "" } }, column.format ? column.format(raw) : raw ?? "—");
        }),
      ),
    );
    return element("table", {}, element("thead", {}, head), element("tbody", {}, ...body));
  }

  const ctx = { api, download, filters, state, money, number, percent, figure, chart, element, table, ApiProblem };

  function showError(message) {
    const box = document.getElementById("error");
    box.hidden = !message;
    box.textContent = message || "";
  }

  function panelFrame(panel) {
    let frame = document.getElementById(`panel-${panel.id}`);
    if (!frame) {
      frame = element("section", { id: `panel-${panel.id}`, className: `panel ${panel.wide ? "wide" : ""}` });
      frame.append(element("h2", {}, panel.title), element("div", { className: "body" }));
      document.getElementById("panels").append(frame);
    }
    return frame;
  }

  async function refresh() {
    const mine = ++generation;
    document.body.dataset.state = "loading";
    if (!token) {
      showError("Paste a token (or open the dashboard with #token=...) to see figures.");
      document.body.dataset.state = "no-token";
      return;
    }
    showError("");
    const results = await Promise.allSettled(
      panels.map(async (panel) => {
        const frame = panelFrame(panel);
        const body = frame.querySelector(".body");
        frame.dataset.state = "loading";
        try {
          await panel.render(ctx, body);
          frame.dataset.state = "ready";
        } catch (problem) {
          frame.dataset.state = "error";
          body.replaceChildren(element("p", { className: "problem" }, problem.message));
          throw problem;
        }
      }),
    );
    if (mine !== generation) return; // a newer refresh is under way
    const failed = results.find((result) => result.status === "rejected");
    if (failed && failed.reason.status === 401) showError(`The token was refused: ${failed.reason.message}`);
    document.body.dataset.state = "ready";
  }

  function periodRange(period, today) {
    const year = today.getUTCFullYear();
    const month = today.getUTCMonth();
    const day = (y, m, d) => new Date(Date.UTC(y, m, d)).toISOString().slice(0, 10);
    const quarter = Math.floor(month / 3);
    switch (period) {
      case "this-month":
        return [day(year, month, 1), day(year, month + 1, 0)];
      case "this-quarter":
        return [day(year, quarter * 3, 1), day(year, quarter * 3 + 3, 0)];
      case "next-quarter":
        return [day(year, quarter * 3 + 3, 1), day(year, quarter * 3 + 6, 0)];
      case "this-year":
        return [day(year, 0, 1), day(year, 11, 31)];
      default:
        return ["", ""];
    }
  }

  function fillSelect(select, options, selected) {
    select.replaceChildren(...options.map(([value, label]) => element("option", { value, textContent: label })));
    select.value = selected;
  }

  async function loadChoices() {
    const [regions, stages] = await Promise.all([api("/regions"), api("/stages")]);
    state.regions = regions.map((region) => region.code);
    state.stages = stages;
    state.pipelines = [...new Set(stages.map((stage) => stage.pipeline))];
    if (!state.regions.includes(state.region)) state.region = "";
    if (!state.pipelines.includes(state.pipeline)) state.pipeline = "";
    const all = regions.length === 1 ? regions[0].code : `all ${regions.length} of your regions`;
    fillSelect(
      document.getElementById("region"),
      [["", all], ...(regions.length > 1 ? regions.map((region) => [region.code, `${region.code} — ${region.name}`]) : [])],
      state.region,
    );
    fillSelect(document.getElementById("pipeline"), [["", "all pipelines"], ...state.pipelines.map((name) => [name, name])], state.pipeline);
    document.getElementById("scope-note").textContent = `token scope: ${state.regions.join(", ")}`;
  }

  async function useToken(value) {
    token = (value || "").trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
    document.getElementById("token-status").textContent = token ? "token set (this tab only)" : "no token";
    if (!token) return refresh();
    try {
      await loadChoices();
    } catch (problem) {
      showError(problem.status === 401 ? `The token was refused: ${problem.message}` : problem.message);
      document.body.dataset.state = "error";
      return;
    }
    await refresh();
  }

  function start() {
    const fragment = new URLSearchParams(window.location.hash.slice(1));
    const fromFragment = fragment.get("token");
    if (fromFragment) {
      sessionStorage.setItem(TOKEN_KEY, fromFragment);
      history.replaceState(null, "", window.location.pathname + window.location.search); // out of the address bar
    }
    const periodSelect = document.getElementById("period");
    const fromInput = document.getElementById("closing-from");
    const toInput = document.getElementById("closing-to");
    const applyPeriod = () => {
      if (periodSelect.value !== "custom") [fromInput.value, toInput.value] = periodRange(periodSelect.value, new Date());
      fromInput.disabled = toInput.disabled = periodSelect.value !== "custom";
      state.closingFrom = fromInput.value;
      state.closingTo = toInput.value;
    };
    applyPeriod();
    periodSelect.addEventListener("change", () => {
      applyPeriod();
      refresh();
    });
    for (const input of [fromInput, toInput]) {
      input.addEventListener("change", () => {
        state.closingFrom = fromInput.value;
        state.closingTo = toInput.value;
        refresh();
      });
    }
    document.getElementById("region").addEventListener("change", (event) => {
      state.region = event.target.value;
      refresh();
    });
    document.getElementById("pipeline").addEventListener("change", (event) => {
      state.pipeline = event.target.value;
      refresh();
    });
    document.getElementById("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = document.getElementById("token-input");
      useToken(input.value);
      input.value = "";
    });
    document.getElementById("token-forget").addEventListener("click", () => useToken(""));
    useToken(sessionStorage.getItem(TOKEN_KEY) || "");
  }

  return { registerPanel, start, ctx, refresh };
})();
window.Dashboard = Dashboard;
