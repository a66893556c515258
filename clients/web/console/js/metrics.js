// Metrics (06 §3, §4, §7): window presets by school year, every filter of G9/G10, key figures,
// a grouped table with a chart, CSV/XLSX exports and the data-freshness line.
// District users only ever see (and can only choose) their own districts: /metrics without a
// district is a global figure they may not read, so the "All districts" choice is not offered.
import { api } from "./api.js";
import { startPage, districtSelect } from "./layout.js";
import { el, fill, say, describe, act, table, empty, options } from "./ui.js";
import { barChart } from "./chart.js";
import { METRICS, KEY_FIGURES, LABEL, recentSchoolYears, formatMetric, metaLine, download } from "./reporting.js";

const ctx = await startPage({ cap: "districtData" });
if (ctx) await main(ctx);

async function main({ can }) {
  const form = document.getElementById("filters");
  const status = document.getElementById("status");
  const preset = document.getElementById("preset");
  const start = document.getElementById("start-date");
  const end = document.getElementById("end-date");
  const district = document.getElementById("district");
  const school = document.getElementById("school");
  const eventType = document.getElementById("event-type");
  const groupBy = document.getElementById("group-by");
  const years = recentSchoolYears(5);

  fill(preset, options(years.map((y) => ({ value: y.code, label: y.label }))), el("option", { value: "" }, "Custom dates"));
  const applyPreset = () => {
    const year = years.find((y) => y.code === preset.value);
    if (year) {
      start.value = year.from;
      end.value = year.to;
    }
  };
  preset.addEventListener("change", applyPreset);
  [start, end].forEach((input) => input.addEventListener("input", () => (preset.value = "")));
  applyPreset();

  await districtSelect(district, { anyLabel: can.globalMetrics ? "All districts" : undefined, status });
  if (!can.globalMetrics) {
    // a district user: the district is required; grouping by district means their own only
    district.required = true;
  }
  district.addEventListener("change", () => loadSchools(school, district.value, status));
  await loadSchools(school, district.value, status);
  await loadEventTypes(eventType);

  const exportsBar = document.getElementById("exports");
  let lastParams = null;
  const read = () => {
    const values = Object.fromEntries(new FormData(form).entries());
    delete values.preset;
    return values;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const params = read();
    const result = await act({
      button: document.getElementById("show"),
      status,
      busy: "Computing metrics",
      done: "Metrics computed.",
      action: () => api.get("/api/v1/metrics", params),
    });
    if (!result) return;
    lastParams = params;
    exportsBar.hidden = false;
    render(result, params);
  });

  for (const format of ["csv", "xlsx"]) {
    const button = document.getElementById(`export-${format}`);
    button.addEventListener("click", () =>
      act({
        button,
        status,
        busy: `Preparing the ${format.toUpperCase()} file`,
        done: (name) => `Downloaded ${name}.`,
        action: () => download("/api/v1/metrics", { ...lastParams, format }, `metrics.${format}`),
      }),
    );
  }
  document.getElementById("print").addEventListener("click", () => window.print());
  groupBy.addEventListener("change", () => (exportsBar.hidden = true));

  if (can.globalMetrics || district.value) form.requestSubmit();
  else say(status, "Choose your district, then Show metrics.", "info");
}

async function loadSchools(select, districtId, status) {
  if (!districtId) {
    fill(select, el("option", { value: "" }, "Any school (choose a district first)"));
    return;
  }
  try {
    const page = await api.get("/api/v1/schools", { district_id: districtId, page_size: 200 });
    fill(select, options(page.items.map((s) => ({ value: s.id, label: s.name })), "Any school"));
  } catch (error) {
    say(status, `Could not load schools: ${describe(error)}`, "error");
  }
}

async function loadEventTypes(select) {
  let types = [];
  try {
    const vocabularies = await api.get("/api/v1/meta/vocabularies");
    types = vocabularies.event_type || [];
  } catch {
    /* the filter stays "Any type" */
  }
  fill(select, options(types.map((t) => ({ value: t.value, label: t.label || t.value })), "Any type"));
}

function render(result, params) {
  document.getElementById("meta").textContent = metaLine(result.meta);
  const figures = document.getElementById("figures");
  const chartControls = document.getElementById("chart-controls");
  const chart = document.getElementById("chart");
  const tableHost = document.getElementById("table");

  if (result.groups) {
    const groups = result.groups;
    const total = groups.length;
    fill(figures, el("p", { class: "muted" }, `${total} ${params.group_by === "school" ? "schools" : "districts"} (Unknown last).`));
    const scalar = METRICS.filter(([id]) => groups.some((g) => typeof g.metrics[id] === "number"));
    const pick = el("select", { id: "chart-metric" }, options(scalar.map(([id, label]) => ({ value: id, label: `${id} ${label}` }))));
    const draw = () => {
      const id = pick.value || "M60";
      fill(
        chart,
        groups.length
          ? barChart({
              title: `${LABEL[id]} by ${params.group_by}`,
              labels: groups.map((g) => g.group.name),
              series: [{ name: LABEL[id], values: groups.map((g) => Number(g.metrics[id]) || 0) }],
            })
          : empty("No events in this window. Widen the dates or remove a filter."),
      );
    };
    pick.addEventListener("change", draw);
    fill(chartControls, el("label", { class: "field" }, el("span", { class: "label" }, "Chart metric"), pick));
    pick.value = scalar.some(([id]) => id === "M10") ? "M10" : scalar[0]?.[0] || "";
    draw();
    fill(
      tableHost,
      table({
        caption: `Metrics by ${params.group_by}, ${params.start_date} to ${params.end_date}`,
        columns: [
          { label: params.group_by === "school" ? "School" : "District", cell: (g) => g.group.name },
          ...scalar.map(([id, label]) => ({ label: `${id} ${label}`, class: "num", cell: (g) => formatMetric(id, g.metrics[id]) })),
        ],
        items: groups,
        empty: "No events in this window. Widen the dates or remove a filter.",
      }),
    );
    return;
  }

  const values = result.metrics || {};
  fill(
    figures,
    KEY_FIGURES.filter((id) => id in values).map((id) =>
      el("div", { class: "figure" }, el("span", { class: "value" }, formatMetric(id, values[id])), el("span", { class: "label" }, LABEL[id])),
    ),
  );
  const byType = values.M120 || {};
  fill(chartControls);
  fill(
    chart,
    Object.keys(byType).length
      ? barChart({
          title: "Events by type (M120)",
          labels: Object.keys(byType),
          series: [{ name: "Events", values: Object.values(byType) }],
        })
      : empty("No events of any type in this window. Widen the dates or remove a filter."),
  );
  fill(
    tableHost,
    table({
      caption: `All metrics, ${params.start_date} to ${params.end_date}`,
      columns: [
        { label: "Metric", cell: (row) => row[0] },
        { label: "What it counts", cell: (row) => row[1] },
        { label: "Value", class: "num", cell: (row) => formatMetric(row[0], values[row[0]]) },
      ],
      items: METRICS.filter(([id]) => id in values).concat("M120" in values ? [["M120", "Events by type"]] : []),
      empty: "No metrics returned.",
    }),
  );
}
