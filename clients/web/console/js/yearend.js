// District year-end (06 §6): the card list (one grouped request), then one district's report with
// its events-by-month chart, program breakdown, by-school table, timeline, manual inputs (§6.8)
// and exports. District users get their own districts only (the API restricts the cards and
// refuses other ids; the console never offers another district).
import { api, getPage } from "./api.js";
import { startPage } from "./layout.js";
import { el, fill, say, describe, act, table, pager, empty, options, fmtDate, fmtNumber } from "./ui.js";
import { barChart } from "./chart.js";
import { recentSchoolYears, currentSchoolYearCode, metaLine, download } from "./reporting.js";

const MANUAL_KEYS = [
  ["careers_on_wheels", "Careers on Wheels"],
  ["cma_students", "CMA students"],
  ["cna_students", "CNA students"],
  ["college_credits_students", "College credit students"],
  ["college_credits_total", "College credits earned (total)"],
  ["data_science", "Data science"],
  ["dia_irc_earned", "DIA industry credentials earned"],
  ["holland_visits", "Holland visits"],
  ["math_relays_hs", "Math Relays (high school)"],
  ["math_relays_jr", "Math Relays (junior)"],
  ["math_relays_awards_hs", "Math Relays awards (high school)"],
  ["math_relays_awards_ms", "Math Relays awards (middle school)"],
  ["p2gd_dual_credit", "P2GD dual credit"],
  ["p2t_completed", "P2T completed"],
];

const PROGRAMS = [
  ["in_person_students", "In-person students"],
  ["career_jumping_students", "Career Jumping"],
  ["career_speakers_students", "Career Speakers"],
  ["career_college_fair_hs_students", "Career & College Fair (high school)"],
  ["client_connected_students", "Client-connected projects"],
  ["bfi_students", "BFI"],
  ["dia_students", "DIA"],
  ["healthstart_students", "HealthStart"],
  ["p2gd_students", "P2GD"],
  ["p2t_students", "P2T"],
  ["sla_students", "SLA"],
];

const ctx = await startPage({ cap: "districtData" });
if (ctx) await main();

async function main() {
  const form = document.getElementById("filters");
  const status = document.getElementById("status");
  const yearSelect = document.getElementById("school-year");
  const hostSelect = document.getElementById("host-filter");
  fill(yearSelect, options(recentSchoolYears(5).map((y) => ({ value: y.code, label: y.label }))));
  const query = new URLSearchParams(location.search);
  if (query.get("school_year")) yearSelect.value = query.get("school_year");
  if (!yearSelect.value) yearSelect.value = currentSchoolYearCode();
  if (query.get("host_filter") === "prepkc") hostSelect.value = "prepkc";

  const state = () => ({ school_year: yearSelect.value, host_filter: hostSelect.value });
  const loadCards = async (page = 1) => {
    say(status, "Loading districts…", "busy");
    try {
      const result = await getPage("/api/v1/reports/year-end", state(), page, 24);
      say(status, "");
      document.getElementById("meta").textContent = metaLine(result.meta);
      renderCards(result, (districtId) => openReport(districtId, state()));
      fill(document.getElementById("cards-pager"), result.total > result.pageSize ? pager(result, loadCards, "districts") : null);
    } catch (error) {
      say(status, `Loading districts failed: ${describe(error)}`, "error");
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    history.replaceState(null, "", `?${new URLSearchParams(state())}`);
    document.getElementById("report").hidden = true;
    document.getElementById("cards-section").hidden = false;
    loadCards(1);
  });
  document.getElementById("back").addEventListener("click", () => {
    document.getElementById("report").hidden = true;
    document.getElementById("cards-section").hidden = false;
    history.replaceState(null, "", `?${new URLSearchParams(state())}`);
    document.getElementById("cards").querySelector("button")?.focus();
  });
  document.getElementById("print").addEventListener("click", () => window.print());

  await loadCards(1);
  const districtId = Number(query.get("district"));
  if (Number.isInteger(districtId) && districtId > 0) await openReport(districtId, state());
}

function renderCards(result, open) {
  const host = document.getElementById("cards");
  if (!result.items.length) {
    fill(host, empty("No district has events in this school year yet. Choose another school year, or run the Salesforce syncs first."));
    return;
  }
  fill(
    host,
    result.items.map((card) =>
      el(
        "section",
        { class: "card year-end-card", "aria-label": card.district.name },
        el("h3", {}, card.district.name),
        el(
          "dl",
          { class: "facts" },
          el("dt", {}, "Events"),
          el("dd", {}, fmtNumber(card.events_total)),
          el("dt", {}, "Students"),
          el("dd", {}, fmtNumber(card.students_total)),
          el("dt", {}, "Unique volunteers"),
          el("dd", {}, fmtNumber(card.unique_volunteers)),
          el("dt", {}, "Volunteer hours"),
          el("dd", {}, fmtNumber(card.volunteer_hours_total)),
        ),
        el("button", { type: "button", class: "secondary", on: { click: () => open(card.district.id) } }, `Open ${card.district.name} report`),
      ),
    ),
  );
}

async function openReport(districtId, params) {
  const status = document.getElementById("status");
  const path = `/api/v1/reports/districts/${districtId}/year-end`;
  const report = await act({
    status,
    busy: "Loading the district report",
    done: (r) => `${r.district.name}, ${r.school_year_label}.`,
    action: () => api.get(path, params),
  });
  if (!report) return;
  history.replaceState(null, "", `?${new URLSearchParams({ ...params, district: districtId })}`);
  document.getElementById("cards-section").hidden = true;
  const section = document.getElementById("report");
  section.hidden = false;
  renderReport(report);
  bindExports(path, params, report);
  renderManualInputs(path, params, report.manual_inputs);
  document.getElementById("report-heading").focus?.();
}

function figure(value, label) {
  return el("div", { class: "figure" }, el("span", { class: "value" }, value), el("span", { class: "label" }, label));
}

function renderReport(report) {
  const e = report.enhanced;
  document.getElementById("report-heading").textContent = `${report.district.name} · ${report.school_year_label}${report.host_filter === "prepkc" ? " · PREPKC only" : ""}`;
  document.getElementById("report-heading").setAttribute("tabindex", "-1");
  document.getElementById("meta").textContent = metaLine(report.meta);
  fill(
    document.getElementById("figures"),
    figure(fmtNumber(e.events.total), `Events (${fmtNumber(e.events.in_person)} in person, ${fmtNumber(e.events.virtual)} virtual)`),
    figure(fmtNumber(e.students.total), `Students (${fmtNumber(e.students.unique_in_person)} unique in person)`),
    figure(fmtNumber(e.students.virtual), "Estimated virtual students"),
    figure(fmtNumber(e.volunteers.unique_total), "Unique volunteers"),
    figure(fmtNumber(e.volunteers.hours_total), "Volunteer hours"),
    figure(fmtNumber(e.organizations.unique_total), "Organisations"),
    figure(fmtNumber(e.virtual_sessions.unique_teachers), "Teachers in virtual sessions"),
  );
  const months = report.timeline.events_by_month;
  const monthLabel = (m) => new Date(`${m}-15T12:00:00`).toLocaleString(undefined, { month: "short" });
  fill(
    document.getElementById("by-month"),
    barChart({ title: `Events by month, ${report.school_year_label}`, labels: months.map((m) => monthLabel(m.month)), series: [{ name: "Events", values: months.map((m) => m.events) }] }),
    table({
      caption: "Events by month",
      className: "data compact",
      columns: [
        { label: "Month", cell: (m) => m.month },
        { label: "Events", class: "num", cell: (m) => fmtNumber(m.events) },
      ],
      items: months,
    }),
  );
  const breakdown = report.program_breakdown;
  const rows = PROGRAMS.filter(([key]) => breakdown[key]).map(([key, label]) => ({ label, ...breakdown[key] }));
  const connector = breakdown.connector_sessions;
  fill(
    document.getElementById("programs"),
    table({
      caption: "Students by program",
      columns: [
        { label: "Program", cell: (r) => r.label },
        { label: "Attendances", class: "num", cell: (r) => fmtNumber(r.total) },
        { label: "Unique students", class: "num", cell: (r) => fmtNumber(r.unique) },
      ],
      items: rows,
    }),
    el(
      "p",
      {},
      `Connector sessions: ${fmtNumber(connector?.session_count)} · Math Relays events: ${fmtNumber(breakdown.math_relays_count)}`,
    ),
  );
  fill(
    document.getElementById("by-school"),
    table({
      caption: "By school (events at unknown schools are left out)",
      columns: [
        { label: "School", cell: (s) => s.school.name },
        { label: "Events", class: "num", cell: (s) => fmtNumber(s.events_count) },
        { label: "Students", class: "num", cell: (s) => fmtNumber(s.students) },
        { label: "Volunteers", class: "num", cell: (s) => fmtNumber(s.volunteers) },
        { label: "Volunteer hours", class: "num", cell: (s) => fmtNumber(s.volunteer_hours) },
      ],
      items: report.timeline.by_school,
      empty: "No events at a known school of this district in this school year.",
    }),
  );
  renderTimeline(report.timeline.events, 1);
}

const TIMELINE_PAGE = 25;
function renderTimeline(events, page) {
  const pages = Math.max(1, Math.ceil(events.length / TIMELINE_PAGE));
  const slice = events.slice((page - 1) * TIMELINE_PAGE, page * TIMELINE_PAGE);
  fill(
    document.getElementById("timeline"),
    table({
      caption: "Every event of the year, oldest first",
      columns: [
        { label: "Date", cell: (e) => fmtDate(e.start_date) },
        { label: "Event", cell: (e) => e.title },
        { label: "Type", cell: (e) => e.type || "—" },
        { label: "Format", cell: (e) => (e.format === "virtual" ? "Virtual" : "In person") },
        { label: "School", cell: (e) => e.school?.name || "Unknown school" },
        { label: "Students", class: "num", cell: (e) => fmtNumber(e.students) },
        { label: "Volunteers", class: "num", cell: (e) => fmtNumber(e.volunteers) },
        { label: "Hours", class: "num", cell: (e) => fmtNumber(e.volunteer_hours) },
      ],
      items: slice,
      empty: "No events in this school year.",
    }),
    events.length > TIMELINE_PAGE ? pager({ page, pages, total: events.length, pageSize: TIMELINE_PAGE }, (p) => renderTimeline(events, p), "events") : null,
  );
}

function bindExports(path, params, report) {
  const status = document.getElementById("report-status");
  const base = `year-end-${report.district.id}-${report.school_year}`;
  const bind = (id, extra, name) => {
    const old = document.getElementById(id);
    const button = old.cloneNode(true); // drop the listener of the previous district
    old.replaceWith(button);
    button.addEventListener("click", () =>
      act({ button, status, busy: "Preparing the file", done: (file) => `Downloaded ${file}.`, action: () => download(path, { ...params, ...extra }, name) }),
    );
  };
  bind("export-timeline", { format: "csv", part: "timeline" }, `${base}-timeline.csv`);
  bind("export-schools", { format: "csv", part: "by_school" }, `${base}-by-school.csv`);
  bind("export-xlsx", { format: "xlsx" }, `${base}.xlsx`);
}

function renderManualInputs(path, params, current) {
  const form = document.getElementById("manual-inputs");
  const status = el("div", { class: "msg", role: "status", "aria-live": "polite", hidden: true });
  const inputs = MANUAL_KEYS.map(([key, label]) => {
    const input = el("input", {
      type: "number",
      name: key,
      min: "0",
      max: "1000000000",
      step: key === "college_credits_total" ? "0.01" : "1",
      inputmode: key === "college_credits_total" ? "decimal" : "numeric",
      value: current[key] ?? "",
    });
    return { key, input, field: el("label", { class: "field" }, el("span", { class: "label" }, label), input) };
  });
  const save = el("button", { type: "submit", id: "save-inputs" }, "Save figures");
  const fresh = form.cloneNode(false); // a new form: no listener of a previous district
  form.replaceWith(fresh);
  fill(fresh, inputs.map((i) => i.field), el("div", { class: "toolbar" }, save), status);
  let saved = { ...current };
  fresh.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!fresh.reportValidity()) return;
    const changes = {};
    for (const { key, input } of inputs) {
      const value = input.value === "" ? null : Number(input.value);
      if (value !== (saved[key] ?? null)) changes[key] = value;
    }
    if (!Object.keys(changes).length) {
      say(status, "Nothing changed.", "info");
      return;
    }
    const result = await act({
      button: save,
      status,
      busy: "Saving figures",
      done: () => `Saved ${Object.keys(changes).length} figure${Object.keys(changes).length === 1 ? "" : "s"}.`,
      action: () => api.put(`${path}/manual-inputs`, changes, { params }),
    });
    if (result) saved = { ...result.manual_inputs };
  });
}
