// Sales-insight panels: target attainment and coverage with the forecast by category, the deals needing
// attention, and stage analytics. Figures are defined in docs/metrics.md section 12; every number shown is the
// API's, unchanged, in data-value.
"use strict";

(() => {
  const { registerPanel } = window.Dashboard;
  const isoDay = (date) => date.toISOString().slice(0, 10);

  // Periods offered by default: this quarter first, the quarters around it, this month. Any YYYY-Qn / YYYY-MM
  // can be typed.
  function periodChoices(today) {
    const year = today.getUTCFullYear();
    const quarter = Math.floor(today.getUTCMonth() / 3); // 0-based
    const label = (offset) => {
      const q = quarter + offset;
      const y = year + Math.floor(q / 4);
      return `${y}-Q${((q % 4) + 4) % 4 + 1}`;
    };
    const month = `${year}-${String(today.getUTCMonth() + 1).padStart(2, "0")}`;
    return [label(0), label(1), label(-1), label(-2), label(-3), month];
  }

  function periodInput(ctx, body, id, onChange) {
    let input = body.querySelector(`#${id}`);
    if (!input) {
      const choices = periodChoices(new Date());
      input = ctx.element("input", { id, type: "text", value: choices[0], size: 9, pattern: "\\d{4}-(0[1-9]|1[0-2]|Q[1-4])" });
      input.setAttribute("list", `${id}-choices`);
      input.addEventListener("change", onChange);
      input.datalist = ctx.element("datalist", { id: `${id}-choices` }, ...choices.map((value) => ctx.element("option", { value })));
    }
    return input;
  }

  // Only the selected region: targets have no pipeline, and the period replaces the closing range.
  const regionOnly = (ctx, extra) => ({ region: ctx.state.region, ...(extra || {}) });

  registerPanel({
    id: "attainment",
    title: "Target attainment and coverage",
    order: 15,
    wide: true,
    async render(ctx, body) {
      const period = periodInput(ctx, body, "attainment-period", () => this.render(ctx, body));
      const grouping = body.querySelector("#attainment-group") || ctx.element("select", { id: "attainment-group" });
      if (!grouping.options.length) {
        for (const [value, label] of [["region", "by region"], ["owner", "by owner"]]) grouping.append(ctx.element("option", { value, textContent: label }));
        grouping.addEventListener("change", () => this.render(ctx, body));
      }
      const controls = ctx.element("div", { className: "controls" }, "period ", period, period.datalist, grouping);
      const answer = await ctx.api("/metrics/attainment", regionOnly(ctx, { period: period.value, group_by: grouping.value }));
      const total = answer.total;
      const figures = ctx.element(
        "div",
        { className: "figures" },
        ctx.figure("attainment.target", total.target, "target", ctx.money),
        ctx.figure("attainment.won_to_date", total.won_to_date, `won to ${answer.as_of}`, ctx.money),
        ctx.figure("attainment.attainment", total.attainment, "attainment", ctx.percent),
        ctx.figure("attainment.gap", total.gap, "gap to target", ctx.money),
        ctx.figure("attainment.open_pipeline", total.open_pipeline, "open pipeline in period", ctx.money),
        ctx.figure("attainment.weighted_pipeline", total.weighted_pipeline, "weighted", ctx.money),
        ctx.figure("attainment.coverage", total.coverage, "coverage (open ÷ gap)", (value) => (value === null ? "—" : `${Number(value).toFixed(2)}×`)),
      );
      const who = grouping.value === "owner" ? (row) => row.owner_name ?? row.owner_id ?? "no owner" : (row) => row.region;
      const table = ctx.table(
        [
          { key: "group", label: grouping.value, value: who },
          { key: "target", label: "target", value: (row) => row.target, format: ctx.money },
          { key: "won_to_date", label: "won", value: (row) => row.won_to_date, format: ctx.money },
          { key: "attainment", label: "attainment", value: (row) => row.attainment, format: ctx.percent },
          { key: "open_pipeline", label: "open", value: (row) => row.open_pipeline, format: ctx.money },
          { key: "coverage", label: "coverage", value: (row) => row.coverage, format: (value) => (value === null ? "—" : `${Number(value).toFixed(2)}×`) },
        ],
        answer.groups,
      );
      table.id = "attainment-table";
      const groups = answer.groups.length ? table : ctx.element("p", { className: "muted" }, `No target and no deal closing in ${answer.period}.`);
      const forecast = await ctx.api("/metrics/forecast", regionOnly(ctx, { period: period.value, pipeline: ctx.state.pipeline }));
      const canvas = ctx.element("canvas", { id: "forecast-chart" });
      const categories = ctx.table(
        [
          { key: "category", label: "forecast category", value: (row) => row.category ?? "(none)" },
          { key: "deal_count", label: "deals", value: (row) => row.deal_count, format: ctx.number },
          { key: "amount", label: "amount", value: (row) => row.amount, format: ctx.money },
          { key: "weighted_amount", label: "weighted", value: (row) => row.weighted_amount, format: ctx.money },
        ],
        forecast.total.categories,
      );
      categories.id = "forecast-table";
      body.replaceChildren(
        controls,
        figures,
        ctx.element("div", { className: "split" }, ctx.element("div", {}, groups), ctx.element("div", {}, ctx.element("div", { className: "chart" }, canvas), categories)),
      );
      body.dataset.period = answer.period;
      ctx.chart(canvas, {
        type: "bar",
        data: {
          labels: forecast.total.categories.map((row) => row.category ?? "(none)"),
          datasets: [{ label: `closing in ${forecast.period}`, data: forecast.total.categories.map((row) => Number(row.amount)) }],
        },
        options: { plugins: { legend: { display: false } } },
      });
    },
  });

  const HEALTH_LABEL = { red: "red", amber: "amber", green: "green" };

  registerPanel({
    id: "attention",
    title: "Deals needing attention",
    order: 65,
    wide: true,
    async render(ctx, body) {
      const level = body.querySelector("#attention-health") || ctx.element("select", { id: "attention-health" });
      if (!level.options.length) {
        for (const [value, label] of [["any", "red and amber"], ["red", "red only"], ["amber", "amber only"]]) level.append(ctx.element("option", { value, textContent: label }));
        level.addEventListener("change", () => this.render(ctx, body));
      }
      const holder = ctx.element("div", { id: "attention-table" });
      const more = ctx.element("button", { id: "attention-more", type: "button", textContent: "More" });
      const params = ctx.filters({ health: level.value, page_size: 15 });
      const columns = [
        { key: "id", label: "id", value: (row) => row.id },
        { key: "deal_name", label: "deal", value: (row) => row.deal_name },
        { key: "owner_name", label: "owner", value: (row) => row.owner_name },
        { key: "stage", label: "stage", value: (row) => row.stage },
        { key: "closing_date", label: "closing", value: (row) => row.closing_date },
        { key: "amount_at_risk", label: "at risk", value: (row) => row.amount_at_risk, format: ctx.money },
        { key: "health", label: "health", value: (row) => row.health.status, format: (value) => HEALTH_LABEL[value] ?? value },
        { key: "reasons", label: "why", value: (row) => row.health.reasons.map((reason) => reason.rule).join(", ") },
      ];
      let cursor = null;
      const load = async () => {
        const page = await ctx.api("/deals/attention", { ...params, cursor });
        const rows = page.items.map((item) => ({ ...item, dataset: { id: item.id, health: item.health.status } }));
        const table = ctx.table(columns, rows);
        for (const row of table.querySelectorAll("tbody tr")) {
          const cell = row.querySelector('td[data-column="health"]');
          cell.className = `health ${row.dataset.health}`;
          const why = row.querySelector('td[data-column="reasons"]');
          const item = page.items.find((candidate) => candidate.id === row.dataset.id);
          why.title = item.health.reasons.map((reason) => `${reason.rule}: ${reason.description} (${reason.value} ${reason.comparison} ${reason.threshold})`).join("\n");
        }
        if (cursor) holder.querySelector("tbody").append(...table.querySelectorAll("tbody tr"));
        else holder.replaceChildren(page.items.length ? table : ctx.element("p", { className: "muted" }, "No deal breaks a rule."));
        cursor = page.next_cursor;
        more.hidden = !cursor;
      };
      more.addEventListener("click", load);
      body.replaceChildren(ctx.element("div", { className: "controls" }, level), holder, more);
      await load();
    },
  });

  registerPanel({
    id: "stages",
    title: "Stage analytics",
    order: 62,
    wide: true,
    async render(ctx, body) {
      const pipeline = ctx.state.pipeline || ctx.state.pipelines[0];
      if (!pipeline) {
        body.replaceChildren(ctx.element("p", {}, "no pipelines"));
        return;
      }
      const year = new Date(Date.now() - 365 * 86_400_000);
      const fromInput = body.querySelector("#stages-from") || ctx.element("input", { id: "stages-from", type: "date", value: isoDay(year) });
      const toInput = body.querySelector("#stages-to") || ctx.element("input", { id: "stages-to", type: "date", value: isoDay(new Date()) });
      if (!fromInput.dataset.bound) {
        for (const input of [fromInput, toInput]) input.addEventListener("change", () => this.render(ctx, body));
        fromInput.dataset.bound = "1";
      }
      const answer = await ctx.api("/metrics/stages", ctx.filters({ pipeline, from: fromInput.value, to: toInput.value }));
      const days = (value) => (value === null || value === undefined ? "—" : Number(value).toFixed(1));
      const count = (key, label) => ({ key, label, value: (row) => row[key], format: ctx.number });
      const table = ctx.table(
        [
          { key: "stage", label: "stage", value: (row) => row.stage },
          count("entered", "entered"),
          count("moved_forward", "forward"),
          count("moved_back", "back"),
          count("won", "won"),
          count("lost", "lost"),
          count("still_in_stage", "still there"),
          { key: "conversion_to_next", label: "conversion", value: (row) => row.conversion_to_next, format: ctx.percent },
          { key: "median_days", label: "median days", value: (row) => row.median_days, format: days },
          { key: "p90_days", label: "p90 days", value: (row) => row.p90_days, format: days },
          count("stuck_beyond_sla", "stuck > SLA"),
          count("closing_date_slips", "date slips"),
        ],
        answer.stages.map((row) => ({ ...row, dataset: { stage: row.stage } })),
      );
      table.id = "stages-table";
      body.replaceChildren(
        ctx.element("div", { className: "controls" }, `pipeline ${answer.pipeline}, stays begun from `, fromInput, " to ", toInput),
        table,
      );
      body.dataset.pipeline = answer.pipeline;
    },
  });
})();
