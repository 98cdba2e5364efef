// The reference dashboard's panels. Each reads the API with the selected region / pipeline / closing period.
"use strict";

(() => {
  const { registerPanel } = window.Dashboard;
  const isoDay = (date) => date.toISOString().slice(0, 10);
  const daysAgo = (days) => isoDay(new Date(Date.now() - days * 86_400_000));

  registerPanel({
    id: "headline",
    title: "Headline",
    order: 10,
    wide: true,
    async render(ctx, body) {
      const summary = await ctx.api("/metrics/summary", ctx.filters());
      body.replaceChildren(
        ctx.figure("open_pipeline", summary.open_pipeline, "open pipeline", ctx.money),
        ctx.figure("weighted_pipeline", summary.weighted_pipeline, "weighted pipeline", ctx.money),
        ctx.figure("win_rate_by_count", summary.win_rate_by_count, "win rate (by count)", ctx.percent),
        ctx.figure("sales_velocity_per_day", summary.sales_velocity_per_day, "sales velocity per day", ctx.money),
        ctx.figure("stale_open_deals", summary.stale_open_deals, `stale deals (> ${summary.stale_after_days} days)`, ctx.number),
        ctx.figure("open_deal_count", summary.open_deal_count, "open deals", ctx.number),
        ctx.figure("won_amount", summary.won_amount, "won", ctx.money),
      );
      body.dataset.source = summary.source;
      body.dataset.asOf = summary.as_of;
    },
  });

  function groupPanel(id, title, order, path, label, key) {
    registerPanel({
      id,
      title,
      order,
      async render(ctx, body) {
        const answer = await ctx.api(path, ctx.filters({ deal_status: "open" }));
        const canvas = ctx.element("canvas", { id: `${id}-chart` });
        const rows = answer.items.map((item) => ({ ...item, dataset: { key: label(item) } }));
        body.replaceChildren(
          ctx.element("div", { className: "chart" }, canvas),
          ctx.table(
            [
              { key, label: title.split(" by ")[1], value: label },
              { key: "deal_count", label: "deals", value: (row) => row.deal_count, format: ctx.number },
              { key: "amount", label: "open amount", value: (row) => row.amount, format: ctx.money },
              { key: "weighted_amount", label: "weighted", value: (row) => row.weighted_amount, format: ctx.money },
            ],
            rows,
          ),
        );
        ctx.chart(canvas, {
          type: "bar",
          data: {
            labels: answer.items.map(label),
            datasets: [
              { label: "open amount", data: answer.items.map((item) => Number(item.amount)) },
              { label: "weighted", data: answer.items.map((item) => Number(item.weighted_amount)) },
            ],
          },
        });
      },
    });
  }
  groupPanel("by-stage", "Pipeline by stage", 20, "/metrics/by-stage", (item) => `${item.pipeline ?? "—"} / ${item.stage}`, "stage");
  groupPanel("by-region", "Pipeline by region", 30, "/metrics/by-region", (item) => item.region, "region");

  registerPanel({
    id: "trend",
    title: "Open pipeline, last 12 months",
    order: 40,
    async render(ctx, body) {
      const today = new Date();
      const start = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 11, 1));
      const trend = await ctx.api("/metrics/trend", ctx.filters({ from: isoDay(start), to: isoDay(today), interval: "month" }));
      const canvas = ctx.element("canvas", { id: "trend-chart" });
      body.replaceChildren(ctx.element("div", { className: "chart" }, canvas));
      ctx.chart(canvas, {
        type: "line",
        data: {
          labels: trend.items.map((point) => point.period_start.slice(0, 7)),
          datasets: [
            { label: "open pipeline", data: trend.items.map((point) => (point.open_pipeline === null ? null : Number(point.open_pipeline))) },
            { label: "weighted", data: trend.items.map((point) => (point.weighted_pipeline === null ? null : Number(point.weighted_pipeline))) },
          ],
        },
      });
      body.dataset.points = String(trend.items.length);
    },
  });

  // Waterfall: start, then each component (+ raises, - lowers the pipeline), then end. Components the API adds
  // later show up by themselves if they are listed here with their direction.
  const RAISES = ["new", "increased", "pulled_in"];
  const LOWERS = ["decreased", "won", "lost", "removed", "pushed_out"];

  registerPanel({
    id: "movement",
    title: "Pipeline movement",
    order: 50,
    wide: true,
    async render(ctx, body) {
      const fromInput = body.querySelector("#movement-from") || ctx.element("input", { id: "movement-from", type: "date", value: daysAgo(30) });
      const toInput = body.querySelector("#movement-to") || ctx.element("input", { id: "movement-to", type: "date", value: daysAgo(1) });
      const params = ctx.filters({ from: fromInput.value, to: toInput.value });
      const controls = ctx.element("div", { className: "controls" }, "from ", fromInput, " to ", toInput);
      if (!fromInput.dataset.bound) {
        for (const input of [fromInput, toInput]) input.addEventListener("change", () => this.render(ctx, body));
        fromInput.dataset.bound = "1";
      }
      let movement;
      try {
        movement = await ctx.api("/metrics/movement", params);
      } catch (problem) {
        body.replaceChildren(controls, ctx.element("p", { className: "problem" }, problem.message));
        return;
      }
      const steps = [["start", Number(movement.start), "total"]];
      for (const key of RAISES) if (key in movement) steps.push([key, Number(movement[key]), "up"]);
      // 0 - x, not -x: a zero component is 0, not -0 (which formats as "-0").
      for (const key of LOWERS) if (key in movement) steps.push([key, 0 - Number(movement[key]), "down"]);
      steps.push(["end", Number(movement.end), "total"]);
      let level = 0;
      const bars = steps.map(([key, value, kind]) => {
        if (kind === "total") {
          level = value;
          return [0, value];
        }
        const bar = [level, level + value];
        level += value;
        return bar;
      });
      const drill = ctx.element("div", { id: "movement-deals" });
      const canvas = ctx.element("canvas", { id: "movement-chart" });
      const rows = steps.map(([key, value, kind]) => ({ key, value, kind, dataset: { component: key } }));
      const list = ctx.table(
        [
          { key: "component", label: "component", value: (row) => row.key },
          { key: "amount", label: "amount", value: (row) => (row.kind === "total" ? row.value : row.value), format: ctx.money },
        ],
        rows,
      );
      list.id = "movement-table";
      for (const row of list.querySelectorAll("tbody tr")) {
        const component = row.dataset.component;
        if (component !== "start" && component !== "end") {
          row.classList.add("clickable");
          row.addEventListener("click", () => drillDown(ctx, drill, params, component));
        }
      }
      body.replaceChildren(controls, ctx.element("div", { className: "chart" }, canvas), list, drill);
      body.dataset.start = movement.start;
      body.dataset.end = movement.end;
      body.dataset.range = `${fromInput.value}/${toInput.value}`; // which request the figures answer
      ctx.chart(canvas, {
        type: "bar",
        data: {
          labels: steps.map(([key]) => key),
          datasets: [{ label: "pipeline", data: bars, backgroundColor: steps.map(([, , kind]) => ({ total: "#5470c6", up: "#3ba272", down: "#ee6666" })[kind]) }],
        },
        options: { plugins: { legend: { display: false } } },
      });
    },
  });

  async function drillDown(ctx, target, params, component) {
    target.replaceChildren(ctx.element("p", {}, `deals in "${component}" …`));
    try {
      const answer = await ctx.api("/metrics/movement/deals", { ...params, component });
      const items = answer.items || [];
      target.replaceChildren(
        ctx.element("h3", {}, `${component}: ${items.length}${answer.next_cursor ? "+" : ""} deal${items.length === 1 && !answer.next_cursor ? "" : "s"}`),
        ctx.table(
          [
            { key: "deal_id", label: "deal", value: (row) => row.deal_id ?? row.id },
            { key: "deal_name", label: "name", value: (row) => row.deal_name },
            { key: "amount", label: "amount", value: (row) => row.amount ?? row.delta, format: ctx.money },
          ],
          items,
        ),
      );
      target.dataset.component = component;
    } catch (problem) {
      target.replaceChildren(ctx.element("p", { className: "problem" }, `drill-down: ${problem.message}`));
    }
  }

  registerPanel({
    id: "funnel",
    title: "Funnel",
    order: 60,
    async render(ctx, body) {
      const pipeline = ctx.state.pipeline || ctx.state.pipelines[0];
      if (!pipeline) {
        body.replaceChildren(ctx.element("p", {}, "no pipelines"));
        return;
      }
      const funnel = await ctx.api("/metrics/funnel", { ...ctx.filters(), pipeline });
      const canvas = ctx.element("canvas", { id: "funnel-chart" });
      body.replaceChildren(
        ctx.element("p", { className: "muted" }, `pipeline ${funnel.pipeline}`),
        ctx.element("div", { className: "chart" }, canvas),
        ctx.table(
          [
            { key: "stage", label: "stage", value: (row) => row.stage },
            { key: "reached", label: "reached", value: (row) => row.reached, format: ctx.number },
            { key: "conversion_to_next", label: "to next", value: (row) => row.conversion_to_next, format: ctx.percent },
          ],
          funnel.steps,
        ),
      );
      ctx.chart(canvas, {
        type: "bar",
        data: { labels: funnel.steps.map((step) => step.stage), datasets: [{ label: "deals reached", data: funnel.steps.map((step) => step.reached) }] },
        options: { indexAxis: "y", plugins: { legend: { display: false } } },
      });
    },
  });

  registerPanel({
    id: "deals",
    title: "Deals",
    order: 70,
    wide: true,
    async render(ctx, body) {
      const status = body.querySelector("#deals-status") || ctx.element("select", { id: "deals-status" });
      const stage = body.querySelector("#deals-stage") || ctx.element("select", { id: "deals-stage" });
      const sort = body.querySelector("#deals-sort") || ctx.element("select", { id: "deals-sort" });
      if (!status.options.length) {
        for (const value of ["open", "won", "lost", "all"]) status.append(ctx.element("option", { value, textContent: value }));
        for (const [value, label] of [["-amount_home", "largest first"], ["closing_date", "closing soonest"], ["-modified_time", "recently changed"], ["-id", "newest id"]]) {
          sort.append(ctx.element("option", { value, textContent: label }));
        }
        for (const select of [status, stage, sort]) select.addEventListener("change", () => this.render(ctx, body));
      }
      const stages = [...new Set(ctx.state.stages.filter((s) => !ctx.state.pipeline || s.pipeline === ctx.state.pipeline).map((s) => s.stage))];
      const chosenStage = stages.includes(stage.value) ? stage.value : "";
      stage.replaceChildren(ctx.element("option", { value: "", textContent: "any stage" }), ...stages.map((name) => ctx.element("option", { value: name, textContent: name })));
      stage.value = chosenStage;
      const params = ctx.filters({ deal_status: status.value, stage: chosenStage, sort: sort.value });
      const exportButton = ctx.element("button", { id: "deals-csv", type: "button", textContent: "Download CSV" });
      exportButton.addEventListener("click", () => ctx.download("/deals", params, "deals.csv"));
      const more = ctx.element("button", { id: "deals-more", type: "button", textContent: "More" });
      const columns = [
        { key: "id", label: "id", value: (row) => row.id },
        { key: "deal_name", label: "deal", value: (row) => row.deal_name },
        { key: "owner_name", label: "owner", value: (row) => row.owner_name },
        { key: "stage", label: "stage", value: (row) => row.stage },
        { key: "amount_home", label: "amount", value: (row) => row.amount_home, format: ctx.money },
        { key: "closing_date", label: "closing", value: (row) => row.closing_date },
        { key: "region", label: "region", value: (row) => row.region },
      ];
      const holder = ctx.element("div", { id: "deals-table" });
      let cursor = null;
      const load = async () => {
        const page = await ctx.api("/deals", { ...params, page_size: 25, cursor });
        const rows = page.items.map((item) => ({ ...item, dataset: { id: item.id } }));
        const table = ctx.table(columns, rows);
        if (cursor) holder.querySelector("tbody").append(...table.querySelectorAll("tbody tr"));
        else holder.replaceChildren(table);
        cursor = page.next_cursor;
        more.hidden = !cursor;
      };
      more.addEventListener("click", load);
      body.replaceChildren(ctx.element("div", { className: "controls" }, status, stage, sort, exportButton), holder, more);
      await load();
    },
  });
})();
