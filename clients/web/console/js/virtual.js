// Virtual sessions (05 VS-*): list, create/edit (PATCH refuses fields Salesforce or Pathful own with
// 409 owned_by_*), presenter and teacher tags, cancellation with a reason (VS-5, VOC-16), presenter
// recruitment and the session flags (VS-6). Naive times typed here are America/Chicago wall times.
import { api, getPage } from "./api.js";
import { startPage, districtSelect } from "./layout.js";
import { el, fill, say, describe, act, table, pager, fmtDateTime, badge, options, field } from "./ui.js";

const STATUSES = ["draft", "requested", "confirmed", "published", "completed", "cancelled", "no_show", "simulcast", "count"];
const TYPES = ["virtual_session", "connector_session"];
const REASONS = ["weather", "presenter_cancelled", "teacher_cancelled", "school_conflict", "technical_issues", "low_enrollment", "scheduling_error", "other"];
const human = (code) => (code ? code.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase()) : "—");

const ctx = await startPage({ cap: "virtualEdit" });
if (ctx) main();

/** "2026-12-10T09:30" typed in the console → ISO with the Chicago offset of that day. */
function chicagoIso(local) {
  if (!local) return null;
  const guess = new Date(`${local}:00Z`);
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: "America/Chicago", timeZoneName: "longOffset" }).formatToParts(guess);
  const offset = (parts.find((p) => p.type === "timeZoneName")?.value || "GMT-06:00").replace("GMT", "") || "+00:00";
  return `${local}:00${offset}`;
}

/** An ISO instant → "YYYY-MM-DDTHH:MM" in Chicago, for a datetime-local input. */
function chicagoLocal(iso) {
  if (!iso) return "";
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { timeZone: "America/Chicago", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

function main() {
  const status = document.getElementById("status");
  const filtersForm = document.getElementById("filters");
  fill(document.getElementById("list-status"), options(STATUSES.map((s) => ({ value: s, label: human(s) })), "Any status"));
  document.getElementById("list-from").value = new Date().toISOString().slice(0, 10);
  districtSelect(document.getElementById("list-district"), { anyLabel: "All districts", status });
  let current = {};
  const load = async (page = 1) => {
    say(status, "Loading sessions…", "busy");
    try {
      const result = await getPage("/api/v1/events", { ...current, format: "virtual" }, page, 25);
      say(status, "");
      fill(
        document.getElementById("sessions"),
        table({
          caption: `${result.total} virtual session${result.total === 1 ? "" : "s"}`,
          columns: [
            { label: "Starts", cell: (e) => fmtDateTime(e.start_date) },
            { label: "Title", cell: (e) => el("button", { type: "button", class: "link", on: { click: () => openSession(e.id, load) } }, e.title) },
            { label: "Type", cell: (e) => human(e.type) },
            { label: "Status", cell: (e) => human(e.status) },
            { label: "Districts", cell: (e) => (e.districts || []).map((d) => d.name).join(", ") || "—" },
            { label: "Teachers", class: "num", cell: (e) => e.participants?.teachers_tagged ?? 0 },
            { label: "Source", cell: (e) => e.source },
          ],
          items: result.items,
          empty: "No virtual sessions match. Change the filters or create a new session.",
        }),
        pager(result, load, "sessions"),
      );
    } catch (error) {
      say(status, `Loading sessions failed: ${describe(error)}`, "error");
    }
  };
  filtersForm.addEventListener("submit", (event) => {
    event.preventDefault();
    current = Object.fromEntries(new FormData(filtersForm).entries());
    load(1);
  });
  document.getElementById("new-session").addEventListener("click", () => renderEditor(null, load));
  current = Object.fromEntries(new FormData(filtersForm).entries());
  load(1);
  loadRecruitment(1);
  const flagForm = document.getElementById("flag-filters");
  flagForm.addEventListener("submit", (event) => {
    event.preventDefault();
    loadFlags(Object.fromEntries(new FormData(flagForm).entries()), 1);
  });
  loadFlags({ status: "open" }, 1);
}

async function openSession(id, reload) {
  const status = document.getElementById("status");
  const detail = await act({ status, busy: "Opening the session", done: "", action: () => api.get(`/api/v1/events/${id}`) });
  if (detail) {
    say(status, "");
    renderEditor(detail, reload);
  }
}

function renderEditor(event, reload) {
  const section = document.getElementById("editor");
  section.hidden = false;
  const heading = document.getElementById("editor-heading");
  heading.textContent = event ? `Edit “${event.title}”` : "New virtual session";
  heading.focus();
  const status = document.getElementById("editor-status");
  say(status, "");
  const owned = event && (event.source === "salesforce" || event.source === "pathful");
  const input = (name, props = {}) => el("input", { name, ...props });
  const title = input("title", { required: true, maxlength: "500", value: event?.title || "" });
  const start = input("start_date", { type: "datetime-local", required: true, value: chicagoLocal(event?.start_date) });
  const duration = input("duration", { type: "number", min: "1", max: "1440", value: event?.duration ?? 60 });
  const type = el("select", { name: "type" }, options(TYPES.map((t) => ({ value: t, label: human(t) }))));
  type.value = event?.type && TYPES.includes(event.type) ? event.type : "virtual_session";
  const state = el("select", { name: "status" }, options(STATUSES.map((s) => ({ value: s, label: human(s) }))));
  state.value = event?.status || "draft";
  const host = input("session_host", { maxlength: "255", value: event?.session_host || "" });
  const reason = el("select", { name: "cancellation_reason" }, options(REASONS.map((r) => ({ value: r, label: human(r) })), "No reason"));
  reason.value = (event?.cancellation_reason || "").toLowerCase();
  const notes = el("textarea", { name: "cancellation_notes", maxlength: "4000" }, event?.cancellation_notes || "");
  const save = el("button", { type: "submit" }, event ? "Save changes" : "Create session");
  if (owned) [title, start, duration, type, state].forEach((control) => (control.disabled = true));
  const cancel = el("button", { type: "button", class: "secondary" }, "Close");
  cancel.addEventListener("click", () => (section.hidden = true));
  const form = document.getElementById("session-form");
  const fresh = form.cloneNode(false);
  form.replaceWith(fresh);
  fill(
    fresh,
    owned ? el("p", { class: "msg msg-info" }, `From ${event.source}: its title, time and status are kept by ${event.source}; Polaris keeps the rest.`) : null,
    field("Title", title),
    field("Starts (Chicago time)", start),
    field("Duration (minutes)", duration),
    field("Type", type),
    field("Session status", state),
    field("Session host", host),
    field("Cancellation reason", reason, "Required when the status is Cancelled"),
    field("Cancellation notes", notes),
    el("div", { class: "toolbar" }, save, cancel),
  );
  fresh.addEventListener("submit", async (submitEvent) => {
    submitEvent.preventDefault();
    if (!fresh.reportValidity()) return;
    const body = {
      title: title.value,
      start_date: chicagoIso(start.value),
      duration: Number(duration.value) || null,
      type: type.value,
      status: state.value,
      session_host: host.value || null,
    };
    if (event) {
      body.cancellation_reason = reason.value || null;
      body.cancellation_notes = notes.value || null;
      if (owned) {
        // a Salesforce or Pathful session: only what Polaris owns goes to the API
        for (const key of ["title", "start_date", "duration", "type", "status"]) delete body[key];
      }
    }
    const result = await act({
      button: save,
      status,
      busy: event ? "Saving the session" : "Creating the session",
      done: (r) => (event ? "Session saved." : `Session “${r.title}” created.`),
      action: () => (event ? api.patch(`/api/v1/events/${event.id}`, body) : api.post("/api/v1/events", body)),
    });
    if (result) {
      reload(1);
      if (!event) openSession(result.id, reload);
    }
  });
  renderTags(event, reload);
}

function renderTags(event, reload) {
  const host = document.getElementById("tags");
  if (!event) {
    fill(host, el("p", { class: "muted" }, "Save the session first, then tag its presenters and teachers."));
    return;
  }
  const status = el("div", { class: "msg", role: "status", "aria-live": "polite", hidden: true });
  const presenters = (event.volunteers || []).filter((v) => v.participant_type === "presenter" || v.participant_type === "volunteer");
  const refresh = () => openSession(event.id, reload);
  const removeButton = (label, path) => {
    const button = el("button", { type: "button", class: "secondary" }, label);
    button.addEventListener("click", async () => {
      const done = await act({ button, status, busy: "Removing the tag", done: "Tag removed.", action: () => api.del(path) });
      if (done !== undefined) refresh();
    });
    return button;
  };
  fill(
    host,
    el("h3", {}, "Presenters"),
    table({
      columns: [
        { label: "Presenter", cell: (v) => `${v.first_name || ""} ${v.last_name}`.trim() },
        { label: "Status", cell: (v) => human(v.status) },
        { label: "", cell: (v) => removeButton(`Remove presenter ${v.first_name || ""} ${v.last_name}`.trim(), `/api/v1/events/${event.id}/presenters/${v.volunteer_id}`) },
      ],
      items: presenters,
      empty: "No presenter yet. Find a volunteer below and tag them.",
    }),
    finder({
      label: "Find a volunteer to present",
      search: (q) => api.get("/api/v1/volunteers", { name: q, page_size: 10 }).then((r) => r.items.map((v) => ({ id: v.id, label: `${v.first_name || ""} ${v.last_name}`.trim() + (v.organization_name ? ` · ${v.organization_name}` : "") }))),
      action: (item) => api.post(`/api/v1/events/${event.id}/presenters`, { volunteer_id: item.id }),
      verb: "Tag as presenter",
      status,
      after: refresh,
    }),
    el("h3", {}, "Teachers"),
    table({
      columns: [
        { label: "Teacher", cell: (t) => `${t.first_name || ""} ${t.last_name}`.trim() },
        { label: "Status", cell: (t) => human(t.status) },
        { label: "", cell: (t) => removeButton(`Remove teacher ${t.first_name || ""} ${t.last_name}`.trim(), `/api/v1/events/${event.id}/teachers/${t.teacher_id}`) },
      ],
      items: event.teachers || [],
      empty: "No teacher yet. Find a teacher below and tag them.",
    }),
    finder({
      label: "Find a teacher",
      search: (q) => api.get("/api/v1/teachers", { q, page_size: 10 }).then((r) => r.items.map((t) => ({ id: t.id, label: `${t.first_name || ""} ${t.last_name}`.trim() + (t.school_name ? ` · ${t.school_name}` : "") }))),
      action: (item) => api.post(`/api/v1/events/${event.id}/teachers`, { teacher_id: item.id }),
      verb: "Tag teacher",
      status,
      after: refresh,
    }),
    status,
  );
}

/** A small search-and-pick control: type, Search, then a button per match. */
function finder({ label, search, action, verb, status, after }) {
  const query = el("input", { type: "search", maxlength: "200" });
  const go = el("button", { type: "button", class: "secondary" }, "Search");
  const results = el("ul", { class: "plain" });
  const run = async () => {
    const items = await act({ button: go, status, busy: "Searching", done: (list) => `${list.length} found.`, action: () => search(query.value.trim()) });
    if (!items) return;
    fill(
      results,
      items.length
        ? items.map((item) => {
            const button = el("button", { type: "button", class: "secondary" }, `${verb}: ${item.label}`);
            button.addEventListener("click", async () => {
              const result = await act({ button, status, busy: "Tagging", done: "Tagged.", action: () => action(item) });
              if (result) after();
            });
            return el("li", {}, button);
          })
        : el("li", { class: "muted" }, "No match. Check the spelling."),
    );
  };
  go.addEventListener("click", run);
  query.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      run();
    }
  });
  return el("div", { class: "finder" }, el("div", { class: "inline-form" }, field(label, query), go), results);
}

async function loadRecruitment(page) {
  const host = document.getElementById("recruitment");
  try {
    const result = await getPage("/api/v1/reports/presenter-recruitment", {}, page, 20);
    const urgency = { red: ["≤ 7 days", "bad"], yellow: ["8–14 days", "warn"], blue: ["> 14 days", ""] };
    fill(
      host,
      table({
        columns: [
          { label: "Urgency", cell: (r) => badge(urgency[r.urgency]?.[0] || r.urgency, urgency[r.urgency]?.[1]) },
          { label: "Starts", cell: (r) => fmtDateTime(r.start_date) },
          { label: "Session", cell: (r) => r.title },
          { label: "Schools", cell: (r) => r.schools.map((s) => s.name).join(", ") || "—" },
          { label: "Teachers", class: "num", cell: (r) => r.teacher_count },
        ],
        items: result.items,
        empty: "Every upcoming session has a presenter.",
      }),
      result.total > result.pageSize ? pager(result, loadRecruitment, "sessions") : null,
    );
  } catch (error) {
    fill(host, el("p", { class: "msg msg-error" }, `Could not load recruitment: ${describe(error)}`));
  }
}

async function loadFlags(params, page) {
  const host = document.getElementById("flags");
  try {
    const result = await getPage("/api/v1/reports/virtual-session-flags", params, page, 20);
    fill(
      host,
      table({
        columns: [
          { label: "Flag", cell: (f) => human(f.flag_type) },
          { label: "Session", cell: (f) => f.title },
          { label: "Starts", cell: (f) => fmtDateTime(f.start_date) },
          { label: "Opened", cell: (f) => fmtDateTime(f.opened_at) },
          { label: "State", cell: (f) => (f.resolved_at ? `Resolved ${fmtDateTime(f.resolved_at)}` : "Open") },
        ],
        items: result.items,
        empty: "No flags. Sessions are flagged when they lack a teacher, a presenter or a cancellation reason.",
      }),
      result.total > result.pageSize ? pager(result, (p) => loadFlags(params, p), "flags") : null,
    );
  } catch (error) {
    fill(host, el("p", { class: "msg msg-error" }, `Could not load flags: ${describe(error)}`));
  }
}
