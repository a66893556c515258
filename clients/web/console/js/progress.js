// Teacher progress (04 TP-*): district → school → teacher drill-down with status counts and an
// SVG chart per school; overrides and deactivation/reactivation for managers (07 CAP); the
// teacher's own view as staff support sees it. The drill-down state is in the URL hash as ids
// only (#district=1&school=3, #teacher=12): nothing personal in URLs.
import { api, getPage } from "./api.js";
import { startPage } from "./layout.js";
import { barChart } from "./chart.js";
import { act, badge, describe, el, field, fill, fmtDate, fmtDateTime, options, pager, say, table } from "./ui.js";

const status = document.getElementById("status");
const view = document.getElementById("view");
const crumbs = document.getElementById("crumbs");
const yearInput = document.getElementById("academic-year");
const STATUSES = [
  ["achieved", "Achieved", "ok"],
  ["in_progress", "In progress", "warn"],
  ["not_started", "Not started", "bad"],
];
const DEACTIVATION_REASONS = [
  ["left_district", "Left the district"],
  ["transferred", "Transferred"],
  ["retired", "Retired"],
  ["data_entry_error", "Data entry error"],
  ["other", "Other"],
];
let ctx = null;
let summary = null;

function hashState() {
  const params = new URLSearchParams(location.hash.slice(1));
  const id = (key) => (/^\d+$/.test(params.get(key) || "") ? Number(params.get(key)) : null);
  return { district: id("district"), school: id("school"), teacher: id("teacher") };
}

const statusBadge = (value) => {
  const found = STATUSES.find(([key]) => key === value);
  return badge(found ? found[1] : value, found ? found[2] : "");
};

async function loadSummary() {
  if (summary) return summary;
  say(status, "Loading progress…", "busy");
  summary = await api.get("/api/v1/teacher-progress/summary", { academic_year: yearInput.value.trim() });
  say(status, "");
  const fresh = summary.meta && summary.meta.data_freshness;
  fill(
    document.getElementById("freshness"),
    `Academic year ${summary.academic_year} · computed ${fmtDateTime(summary.meta && summary.meta.computed_at)}`,
    fresh && fresh.pathful ? ` · Pathful data from ${fmtDateTime(fresh.pathful)}` : "",
  );
  return summary;
}

async function route() {
  const state = hashState();
  try {
    const data = await loadSummary();
    if (state.teacher) await showTeacher(state.teacher, data);
    else if (state.district && state.school) await showSchool(data, state.district, state.school, 1);
    else if (state.district) showDistrict(data, state.district);
    else showDistricts(data);
  } catch (error) {
    say(status, `Could not load teacher progress: ${describe(error)}`, "error");
  }
}

function setCrumbs(items) {
  fill(
    crumbs,
    el(
      "ol",
      {},
      items.map(([label, href], index) =>
        el("li", {}, index === items.length - 1 ? el("span", { "aria-current": "page" }, label) : el("a", { href }, label)),
      ),
    ),
  );
}

const countColumns = [
  { label: "Teachers", class: "num", cell: (r) => String(r.teachers) },
  ...STATUSES.map(([key, label]) => ({ label, class: "num", cell: (r) => String(r[key]) })),
];

function showDistricts(data) {
  setCrumbs([["All districts", "#"]]);
  if (data.districts.length === 1 && !ctx.can.global) {
    location.hash = `district=${data.districts[0].district.id}`;
    return;
  }
  fill(
    view,
    el("h2", {}, "Districts"),
    table({
      caption: `Progress in ${data.academic_year}`,
      columns: [{ label: "District", cell: (d) => el("a", { href: `#district=${d.district.id}` }, d.district.name) }, { label: "Schools", class: "num", cell: (d) => String(d.schools) }, ...countColumns],
      items: data.districts,
      empty: "No teacher rosters for this year yet. Upload a district roster on the Imports page, then import Pathful sessions.",
    }),
    data.districts.length
      ? barChart({
          title: "Teachers by status and district",
          labels: data.districts.map((d) => d.district.name),
          series: STATUSES.map(([key, label]) => ({ name: label, values: data.districts.map((d) => d[key]) })),
          stacked: true,
        })
      : null,
  );
}

function districtOf(data, districtId) {
  const district = data.districts.find((d) => d.district.id === districtId);
  if (!district) throw Object.assign(new Error("This district has no progress for the year, or it is not one of yours."), { code: "not_found" });
  return district;
}

function schoolChart(school) {
  return barChart({
    title: `${school.school.name}: teachers by status`,
    labels: STATUSES.map(([, label]) => label),
    series: [{ name: "Teachers", values: STATUSES.map(([key]) => school[key]) }],
    width: 360,
    height: 200,
  });
}

function showDistrict(data, districtId) {
  const district = districtOf(data, districtId);
  setCrumbs([["All districts", "#"], [district.district.name, `#district=${districtId}`]]);
  fill(
    view,
    el("h2", {}, district.district.name),
    el(
      "div",
      { class: "figures" },
      [["Teachers", district.teachers], ...STATUSES.map(([key, label]) => [label, district[key]])].map(([label, value]) =>
        el("div", { class: "figure" }, el("span", { class: "value" }, String(value)), label),
      ),
    ),
    table({
      caption: "Schools",
      columns: [
        {
          label: "School",
          cell: (s) => (s.school.id ? el("a", { href: `#district=${districtId}&school=${s.school.id}` }, s.school.name) : s.school.name),
        },
        ...countColumns,
      ],
      items: district.by_school,
      empty: "No schools with roster teachers in this district.",
    }),
    el("h3", {}, "Charts by school"),
    el("div", { class: "chart-grid" }, district.by_school.map((school) => el("figure", { class: "school-chart" }, schoolChart(school), el("figcaption", {}, school.school.name)))),
  );
}

async function showSchool(data, districtId, schoolId, page, filters = {}) {
  const district = districtOf(data, districtId);
  const school = district.by_school.find((s) => s.school.id === schoolId) || { school: { id: schoolId, name: `School ${schoolId}` }, teachers: 0, achieved: 0, in_progress: 0, not_started: 0 };
  setCrumbs([["All districts", "#"], [district.district.name, `#district=${districtId}`], [school.school.name, `#district=${districtId}&school=${schoolId}`]]);
  const statusSelect = el("select", { name: "status" }, options(STATUSES.map(([value, label]) => ({ value, label })), "Any status"));
  statusSelect.value = filters.status || "";
  const query = el("input", { type: "search", name: "q", maxLength: 100 });
  query.value = filters.q || "";
  const form = el("form", { class: "filters", "aria-label": "Filter teachers" }, field("Status", statusSelect), field("Teacher name or email", query), el("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    showSchool(data, districtId, schoolId, 1, { status: statusSelect.value, q: query.value.trim() });
  });
  const result = await getPage(
    "/api/v1/teacher-progress",
    { district_id: districtId, school_id: schoolId, academic_year: data.academic_year, status: filters.status, q: filters.q },
    page,
  );
  fill(
    view,
    el("h2", {}, school.school.name),
    el("div", { class: "chart-grid" }, el("figure", { class: "school-chart" }, schoolChart(school), el("figcaption", {}, `${school.teachers} teachers`))),
    form,
    table({
      caption: `${result.total} teacher${result.total === 1 ? "" : "s"}`,
      columns: [
        { label: "Teacher", cell: (t) => [el("a", { href: `#teacher=${t.id}` }, t.name), el("br"), el("span", { class: "muted" }, t.email)] },
        { label: "Status", cell: (t) => [statusBadge(t.status), t.is_active ? null : badge("inactive", "bad")] },
        { label: "Sessions", class: "num", cell: (t) => `${t.attended_count} of ${t.target_sessions}` },
        { label: "Grade", cell: (t) => t.grade || "—" },
      ],
      items: result.items,
      empty: "No teachers match. Clear the filters, or check the district's roster on the Imports page.",
    }),
    pager(result, (next) => showSchool(data, districtId, schoolId, next, filters), "teachers"),
  );
}

async function showTeacher(teacherId, data) {
  const detail = await api.get(`/api/v1/teacher-progress/${teacherId}`);
  const district = data.districts.find((d) => d.district.id === detail.district_id);
  const school = district && district.by_school.find((s) => s.school.id === detail.school_id);
  const trail = [["All districts", "#"]];
  if (district) trail.push([district.district.name, `#district=${district.district.id}`]);
  if (district && school) trail.push([school.school.name, `#district=${district.district.id}&school=${school.school.id}`]);
  trail.push([detail.name, `#teacher=${teacherId}`]);
  setCrumbs(trail);
  const selfView = el("div", { id: "teacher-view" });
  const showSelf = el("button", { type: "button", class: "secondary", id: "show-teacher-view" }, "Show the teacher's own view");
  showSelf.addEventListener("click", async () => {
    const seen = await act({
      button: showSelf,
      status,
      busy: "Loading the teacher's view",
      done: "This is what the teacher sees with their magic link.",
      action: () => api.get(`/api/v1/teacher-progress/${teacherId}/teacher-view`),
    });
    if (seen) fill(selfView, teacherView(seen));
  });
  fill(
    view,
    el("h2", {}, detail.name),
    el(
      "dl",
      { class: "facts" },
      [
        ["Email", detail.email],
        ["Status", statusBadge(detail.status)],
        ["Sessions counted", `${detail.attended_count} of ${detail.target_sessions}`],
        ["Window", `${fmtDate(detail.window_start)} – ${fmtDate(detail.window_end)}`],
        ["Building · grade", `${detail.building || "—"} · ${detail.grade || "—"}`],
        ["Active", detail.is_active ? "Yes" : `No — ${detail.deactivation_reason || ""}${detail.deactivation_notes ? ` (${detail.deactivation_notes})` : ""}, ${fmtDateTime(detail.deactivated_at)}`],
      ].flatMap(([label, value]) => [el("dt", {}, label), el("dd", {}, value)]),
    ),
    el("h3", {}, "Sessions"),
    table({
      columns: [
        { label: "Session", cell: (s) => s.title },
        { label: "Date", cell: (s) => fmtDateTime(s.start_date) },
        { label: "Attendance", cell: (s) => s.status || "—" },
        { label: "Counted", cell: (s) => (s.counted ? badge("counted", "ok") : badge("not counted")) },
        { label: "Source", cell: (s) => s.source },
        { label: "Event", class: "num", cell: (s) => String(s.event_id) },
      ],
      items: detail.sessions || [],
      empty: "No sessions yet for this teacher in the window.",
    }),
    el("h3", {}, "Overrides"),
    table({
      columns: [
        { label: "Action", cell: (o) => `${o.action} event ${o.event_id}` },
        { label: "Reason", cell: (o) => o.reason },
        { label: "When", cell: (o) => fmtDateTime(o.created_at) },
        { label: "State", cell: (o) => (o.is_active ? badge("active", "ok") : [badge("reversed"), ` ${o.reversal_reason || ""}`]) },
        { label: "Reverse", cell: (o) => (o.is_active && ctx.can.manageProgress ? reverseForm(o, teacherId) : "—") },
      ],
      items: detail.overrides || [],
      empty: "No overrides.",
    }),
    ctx.can.manageProgress ? managerForms(detail) : el("p", { class: "muted" }, "Overrides and deactivation are for managers and admins."),
    el("h3", {}, "The teacher's own view"),
    showSelf,
    selfView,
  );
}

function teacherView(seen) {
  const sessions = (items) =>
    table({
      columns: [
        { label: "Session", cell: (s) => s.title || "—" },
        { label: "Date", cell: (s) => fmtDateTime(s.start_date || s.start) },
        { label: "Status", cell: (s) => s.status || "—" },
      ],
      items: items || [],
      empty: "None.",
    });
  return el(
    "section",
    { class: "card", "aria-label": "The teacher's own view" },
    el("p", {}, `${seen.name} · ${seen.completed_sessions} of ${seen.target_sessions} sessions completed · `, statusBadge(seen.status)),
    el("h4", {}, "Upcoming"),
    sessions(seen.upcoming),
    el("h4", {}, "Past"),
    sessions(seen.past),
  );
}

function reverseForm(override, teacherId) {
  const reason = el("input", { type: "text", maxLength: 2000 });
  const button = el("button", { type: "button", class: "secondary", "aria-label": `Reverse override ${override.id}` }, "Reverse");
  button.addEventListener("click", async () => {
    if (!reason.value.trim()) return say(status, "Give a reason for reversing the override.", "error");
    const done = await act({
      button,
      status,
      busy: "Reversing the override",
      done: "Override reversed.",
      action: () => api.post(`/api/v1/overrides/${override.id}/reverse`, { reason: reason.value.trim() }),
    });
    if (done) refreshTeacher(teacherId, "Override reversed.");
  });
  return el("div", { class: "inline-form" }, field(`Reason to reverse override ${override.id}`, reason), button);
}

async function refreshTeacher(teacherId, message) {
  summary = null;
  await route();
  say(status, message, "ok");
}

function managerForms(detail) {
  const line = el("div", { class: "msg", role: "status", "aria-live": "polite", hidden: true });
  // override: count or uncount one session
  const eventSelect = el(
    "select",
    { name: "event_id", required: true },
    (detail.sessions || []).map((s) => el("option", { value: String(s.event_id) }, `${s.title} (${fmtDate(s.start_date)})`)),
    el("option", { value: "" }, "Another event (enter its number)"),
  );
  const eventNumber = el("input", { type: "number", min: 1, name: "event_number" });
  const action = el("select", { name: "action" }, options([{ value: "add", label: "Count this session" }, { value: "remove", label: "Do not count this session" }]));
  const reason = el("input", { type: "text", maxLength: 2000, required: true, name: "reason" });
  const overrideForm = el(
    "form",
    { class: "filters", "aria-label": "Add an override" },
    field("Session", eventSelect),
    field("Event number (for another event)", eventNumber),
    field("Override", action),
    field("Reason", reason),
    el("button", { type: "submit", id: "add-override" }, "Add override"),
  );
  overrideForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const eventId = Number(eventSelect.value || eventNumber.value);
    if (!eventId) return say(line, "Choose the session or enter the event number.", "error");
    const done = await act({
      button: overrideForm.querySelector("button"),
      status: line,
      busy: "Adding the override",
      done: "Override added.",
      action: () => api.post(`/api/v1/teacher-progress/${detail.id}/overrides`, { event_id: eventId, action: action.value, reason: reason.value.trim() }),
    });
    if (done) refreshTeacher(detail.id, "Override added; progress recomputed.");
  });
  // deactivate / reactivate
  let stateForm;
  if (detail.is_active) {
    const why = el("select", { name: "reason" }, options(DEACTIVATION_REASONS.map(([value, label]) => ({ value, label }))));
    const notes = el("input", { type: "text", maxLength: 2000, name: "notes" });
    stateForm = el("form", { class: "filters", "aria-label": "Deactivate" }, field("Deactivation reason", why), field("Notes", notes), el("button", { type: "submit", class: "danger", id: "deactivate" }, "Deactivate teacher"));
    stateForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const done = await act({
        button: stateForm.querySelector("button"),
        status: line,
        busy: "Deactivating",
        done: "Deactivated.",
        action: () => api.post(`/api/v1/teacher-progress/${detail.id}/deactivate`, { reason: why.value, notes: notes.value.trim() || null }),
      });
      if (done) refreshTeacher(detail.id, `${detail.name} deactivated: later rosters leave them inactive.`);
    });
  } else {
    const why = el("input", { type: "text", maxLength: 2000, required: true, name: "reason" });
    stateForm = el("form", { class: "filters", "aria-label": "Reactivate" }, field("Reactivation reason", why), el("button", { type: "submit", id: "reactivate" }, "Reactivate teacher"));
    stateForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const done = await act({
        button: stateForm.querySelector("button"),
        status: line,
        busy: "Reactivating",
        done: "Reactivated.",
        action: () => api.post(`/api/v1/teacher-progress/${detail.id}/reactivate`, { reason: why.value.trim() }),
      });
      if (done) refreshTeacher(detail.id, `${detail.name} reactivated.`);
    });
  }
  return el("section", { class: "card no-print", "aria-labelledby": "manage-heading" }, el("h3", { id: "manage-heading" }, "Manage (managers and admins)"), overrideForm, stateForm, line);
}

// Start last: the module's constants above must be initialised before the first render.
ctx = await startPage({ cap: "districtData" });
if (ctx) {
  document.getElementById("year-form").addEventListener("submit", (event) => {
    event.preventDefault();
    summary = null;
    route();
  });
  window.addEventListener("hashchange", route);
  await route();
}
