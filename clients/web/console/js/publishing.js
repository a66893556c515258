// Publishing (03 PUB-5): upcoming events with filters; visibility, note and district links
// (publishing-owned); Salesforce-owned fields read-only; sync errors; "Sync now" with live status.
import { api, getPage } from "./api.js";
import { districtSelect, myDistricts, startPage } from "./layout.js";
import { act, badge, describe, el, field, fill, fmtDate, fmtDateTime, formValues, pager, say, table } from "./ui.js";
import { followRun, runSummary } from "./runs.js";

const status = document.getElementById("status");
const form = document.getElementById("filters");
const eventsBox = document.getElementById("events");
const errorsBox = document.getElementById("sync-errors");
const syncButton = document.getElementById("sync-now");
const syncLine = document.getElementById("sync-run");
let districts = [];
let currentPage = 1;

const ctx = await startPage({ cap: "publishing" });
if (ctx) {
  form.start_date.value = new Date().toLocaleDateString("en-CA"); // upcoming: from today
  districts = await districtSelect(document.getElementById("district-filter"), { anyLabel: "All districts", status });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    loadEvents(1);
  });
  syncButton.addEventListener("click", syncNow);
  await Promise.all([loadEvents(1), loadErrors(1)]);
}

async function loadEvents(page, { keepStatus = false, focus = null } = {}) {
  currentPage = page;
  const values = formValues(form);
  if (!keepStatus) say(status, "Loading events…", "busy");
  eventsBox.setAttribute("aria-busy", "true");
  try {
    const result = await getPage("/api/v1/publishing/events", values, page);
    fill(
      eventsBox,
      table({
        caption: `${result.total} event${result.total === 1 ? "" : "s"}`,
        columns: [
          { label: "Event", cell: eventCell },
          { label: "Website", cell: visibilityCell },
          { label: "District pages", cell: districtsCell },
          { label: "Note and Salesforce fields", cell: detailsCell },
        ],
        items: result.items,
        empty: "No events match these filters. Widen the dates or clear the search; new Salesforce sessions appear after a publishing sync.",
      }),
      pager(result, (next) => loadEvents(next), "events"),
    );
    if (!keepStatus) say(status, "");
    // keyboard users stay where they were: focus the re-rendered control (by its accessible name)
    if (focus) [...eventsBox.querySelectorAll("[aria-label]")].find((node) => node.getAttribute("aria-label") === focus)?.focus();
  } catch (error) {
    say(status, `Could not load events: ${describe(error)}`, "error");
  } finally {
    eventsBox.removeAttribute("aria-busy");
  }
}

function eventCell(event) {
  const flags = [];
  if (event.publish_status === "archived") flags.push(badge(`archived${event.archived_reason ? `: ${event.archived_reason}` : ""}`, "warn"));
  if (event.is_deleted) flags.push(badge("deleted in Salesforce", "bad"));
  if (event.is_dia) flags.push(badge("DIA"));
  return [
    el("strong", { class: "event-title" }, event.title),
    el("br"),
    el("span", { class: "muted" }, `${event.date_time_display || fmtDateTime(event.start_date)} · ${event.type || "event"} · ${event.format}`),
    el("br"),
    el("span", {}, `${event.remaining_slots} of ${event.available_slots} slots open`),
    flags.length ? el("div", {}, flags) : null,
  ];
}

function visibilityCell(event) {
  const shown = event.display_on_website;
  const button = el(
    "button",
    {
      type: "button",
      class: shown ? "secondary" : "",
      "aria-label": `${shown ? "Hide" : "Show"} “${event.title}” on the website`,
      on: {
        click: () =>
          act({
            button,
            status,
            busy: `${shown ? "Hiding" : "Showing"} “${event.title}”`,
            done: `“${event.title}” is now ${shown ? "hidden from" : "shown on"} the website.`,
            action: () => api.patch(`/api/v1/publishing/events/${event.id}`, { display_on_website: !shown }),
          }).then(
            (updated) =>
              updated && loadEvents(currentPage, { keepStatus: true, focus: `${shown ? "Show" : "Hide"} “${event.title}” on the website` }),
          ),
      },
    },
    shown ? "Hide" : "Show",
  );
  return [badge(shown ? "Shown" : "Hidden", shown ? "ok" : "warn"), " ", button];
}

function districtsCell(event) {
  const linked = new Set(event.districts.map((d) => d.id));
  const items = event.districts.map((district) => {
    const remove = el(
      "button",
      {
        type: "button",
        class: "link",
        "aria-label": `Remove ${district.name} from “${event.title}”`,
        on: {
          click: () =>
            act({
              button: remove,
              status,
              busy: `Removing ${district.name}`,
              done: `“${event.title}” no longer appears on ${district.name}'s page.`,
              action: () => api.del(`/api/v1/publishing/events/${event.id}/districts/${district.id}`),
            }).then((updated) => updated && loadEvents(currentPage, { keepStatus: true, focus: `District to link to “${event.title}”` })),
        },
      },
      "Remove",
    );
    return el("li", {}, district.name, " ", remove);
  });
  const choices = districts.filter((d) => !linked.has(d.id));
  const select = el(
    "select",
    { "aria-label": `District to link to “${event.title}”`, class: "link-district" },
    choices.map((d) => el("option", { value: String(d.id) }, d.name)),
  );
  const add = el(
    "button",
    {
      type: "button",
      class: "secondary",
      disabled: !choices.length,
      "aria-label": `Link the chosen district to “${event.title}”`,
      on: {
        click: () => {
          const district = districts.find((d) => String(d.id) === select.value);
          if (!district) return;
          act({
            button: add,
            status,
            busy: `Linking ${district.name}`,
            done: `“${event.title}” now appears on ${district.name}'s page.`,
            action: () => api.put(`/api/v1/publishing/events/${event.id}/districts/${district.id}`),
          }).then((updated) => updated && loadEvents(currentPage, { keepStatus: true, focus: `Remove ${district.name} from “${event.title}”` }));
        },
      },
    },
    "Link",
  );
  return [
    items.length ? el("ul", { class: "plain" }, items) : el("p", { class: "muted" }, "Not on any district page."),
    choices.length ? el("div", { class: "inline-form" }, select, add) : null,
  ];
}

function detailsCell(event) {
  const note = el("textarea", { maxLength: 10000, rows: 2 });
  note.value = event.note || "";
  const save = el(
    "button",
    {
      type: "button",
      class: "secondary",
      "aria-label": `Save the note of “${event.title}”`,
      on: {
        click: () =>
          act({
            button: save,
            status,
            busy: "Saving note",
            done: note.value.trim() ? `Note of “${event.title}” saved.` : `Note of “${event.title}” cleared.`,
            action: () => api.patch(`/api/v1/publishing/events/${event.id}`, { note: note.value.trim() || null }),
          }),
      },
    },
    "Save note",
  );
  return el(
    "details",
    {},
    el("summary", {}, event.note ? "Note and details" : "Add note, details"),
    field(`Staff note for “${event.title}” (never public)`, note),
    save,
    el("h3", {}, "From Salesforce (read-only)"),
    el(
      "dl",
      { class: "facts readonly" },
      [
        ["Salesforce id", event.salesforce_id],
        ["Status", event.status],
        ["Starts", fmtDateTime(event.start_date)],
        ["Ends", fmtDateTime(event.end_date)],
        ["Location", event.location],
        ["District partner", event.district_partner],
        ["Volunteers requested", event.volunteers_requested],
        ["Slots", `${event.filled_volunteer_jobs} filled of ${event.available_slots}`],
        ["Registration link", event.registration_link],
        ["Last seen by the sync", fmtDateTime(event.publishing_last_seen_at)],
      ].flatMap(([label, value]) => [el("dt", {}, label), el("dd", {}, value ?? "—")]),
    ),
  );
}

async function loadErrors(page) {
  try {
    const result = await getPage("/api/v1/publishing/sync-errors", {}, page);
    fill(
      errorsBox,
      table({
        columns: [
          { label: "Salesforce id", cell: (e) => e.salesforce_id || "—" },
          { label: "Problem", cell: (e) => [e.message || e.code || "—", e.code ? el("br") : null, e.code ? el("code", {}, e.code) : null] },
          { label: "Fields", cell: (e) => (e.missing_fields || e.fields || []).join(", ") || "—" },
          { label: "Sync finished", cell: (e) => fmtDateTime(e.run_finished_at) },
        ],
        items: result.items,
        empty: "No sync errors: every session of the last publishing sync was published.",
      }),
      result.total > result.pageSize ? pager(result, loadErrors, "errors") : null,
    );
  } catch (error) {
    fill(errorsBox, el("p", { class: "msg msg-error" }, `Could not load sync errors: ${describe(error)}`));
  }
}

async function syncNow() {
  const accepted = await act({
    button: syncButton,
    status: syncLine,
    busy: "Starting the publishing sync",
    done: (run) => `Run ${run.run_id} started.`,
    action: () => api.post("/api/v1/sync/salesforce-publishing"),
  });
  if (!accepted) return;
  syncButton.disabled = true;
  try {
    const run = await followRun(accepted.run_id, (current) => say(syncLine, `Run ${current.id}: ${runSummary(current)}`, "busy"));
    say(syncLine, `Run ${run.id} ${run.status}: ${runSummary(run)}`, run.status === "succeeded" ? "ok" : "error");
    await Promise.all([loadEvents(currentPage, { keepStatus: true }), loadErrors(1)]);
    myDistricts();
  } catch (error) {
    say(syncLine, `Could not follow the run: ${describe(error)}`, "error");
  } finally {
    syncButton.disabled = false;
  }
}
