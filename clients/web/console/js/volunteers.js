// Volunteers (04 volunteer search, SF-36 communications, 06 G3/VOC-6 reporting inputs): search with
// every filter the API has, a profile with participations and logged emails, CSV export. Search
// terms stay in the page (never in its address): they are personal data.
import { api, getPage } from "./api.js";
import { startPage } from "./layout.js";
import { el, fill, say, describe, act, table, pager, fmtDate, fmtDateTime, fmtNumber, badge } from "./ui.js";
import { download } from "./reporting.js";

const LOCAL = { local: "Local", partial: "Partial", non_local: "Not local", unknown: "Unknown" };

const ctx = await startPage({ cap: "volunteers" });
if (ctx) main();

function filters(form) {
  const values = Object.fromEntries(new FormData(form).entries());
  const skills = (values.skills || "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  delete values.skills;
  if (!values.virtual_only) delete values.virtual_only;
  return { ...values, skills };
}

function main() {
  const form = document.getElementById("filters");
  const status = document.getElementById("status");
  const results = document.getElementById("results");
  let current = {};

  const load = async (page = 1) => {
    say(status, "Searching…", "busy");
    try {
      const result = await getPage("/api/v1/volunteers", current, page, 25);
      say(status, "");
      fill(
        results,
        table({
          caption: `${fmtNumber(result.total)} volunteer${result.total === 1 ? "" : "s"}`,
          columns: [
            { label: "Name", cell: (v) => el("button", { type: "button", class: "link", on: { click: () => openProfile(v.id) } }, `${v.first_name || ""} ${v.last_name || ""}`.trim() || `Volunteer ${v.id}`) },
            { label: "Organisation", cell: (v) => v.organization_name || "—" },
            { label: "Title", cell: (v) => v.title || "—" },
            { label: "Skills", cell: (v) => (v.skills || []).join(", ") || "—" },
            { label: "Local", cell: (v) => LOCAL[v.local_status] || v.local_status },
            { label: "Times", class: "num", cell: (v) => fmtNumber(v.times_volunteered) },
            { label: "Last volunteered", cell: (v) => fmtDate(v.last_volunteered_on) },
          ],
          items: result.items,
          empty: "No volunteer matches. Remove a filter or check the spelling.",
        }),
        pager(result, load, "volunteers"),
      );
    } catch (error) {
      say(status, `Searching failed: ${describe(error)}`, "error");
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    current = filters(form);
    document.getElementById("profile").hidden = true;
    load(1);
  });
  document.getElementById("export").addEventListener("click", (event) =>
    act({
      button: event.currentTarget,
      status,
      busy: "Preparing the CSV file",
      done: (name) => `Downloaded ${name}.`,
      action: () => download("/api/v1/volunteers/export.csv", filters(form), "volunteers.csv"),
    }),
  );
  document.getElementById("back").addEventListener("click", () => {
    document.getElementById("profile").hidden = true;
    results.hidden = false;
    results.querySelector("button.link")?.focus();
  });
  load(1);
}

async function openProfile(id) {
  const status = document.getElementById("status");
  const profile = await act({ status, busy: "Opening the profile", done: "", action: () => api.get(`/api/v1/volunteers/${id}`) });
  if (!profile) return;
  say(status, "");
  document.getElementById("results").hidden = true;
  const section = document.getElementById("profile");
  section.hidden = false;
  const name = [profile.salutation, profile.first_name, profile.middle_name, profile.last_name, profile.suffix].filter(Boolean).join(" ");
  const heading = document.getElementById("profile-heading");
  heading.textContent = name || `Volunteer ${profile.id}`;
  heading.focus();
  const flags = [
    profile.do_not_contact ? badge("Do not contact", "bad") : null,
    profile.do_not_call ? badge("Do not call", "warn") : null,
    profile.email_opt_out ? badge("Email opt-out", "warn") : null,
    profile.email_bounced_at ? badge("Email bounced", "bad") : null,
    profile.exclude_from_reports ? badge("Excluded from reports", "warn") : null,
  ];
  const fact = (label, value) => [el("dt", {}, label), el("dd", {}, value ?? "—")];
  fill(
    document.getElementById("facts"),
    el("p", {}, flags),
    el(
      "dl",
      { class: "facts" },
      fact("Status", profile.status),
      fact("Organisation", profile.organization_name),
      fact("Title", [profile.title, profile.department].filter(Boolean).join(", ") || null),
      fact("Emails", profile.emails.map((e) => `${e.email}${e.is_primary ? " (primary)" : ""}`).join(", ") || null),
      fact("Phones", profile.phones.map((p) => `${p.number}${p.is_primary ? " (primary)" : ""}`).join(", ") || null),
      fact("City", [profile.mailing_city, profile.mailing_state, profile.mailing_postal_code].filter(Boolean).join(", ") || null),
      fact("Skills", profile.skills.join(", ") || null),
      fact("Interests", profile.interests.join(", ") || null),
      fact("Volunteered", `${fmtNumber(profile.times_volunteered)} times, ${fmtNumber(profile.total_hours)} hours; first ${fmtDate(profile.first_volunteered_on)}, last ${fmtDate(profile.last_volunteered_on)}`),
      fact("Last contacted", fmtDateTime(profile.last_contacted_at)),
      fact("Affiliations", profile.affiliations.map((a) => [a.name, a.role].filter(Boolean).join(" · ")).join("; ") || null),
      fact("Notes", profile.notes),
    ),
  );
  renderReporting(profile);
  loadParticipations(id, 1);
  loadCommunications(id, 1);
}

function renderReporting(profile) {
  const form = document.getElementById("reporting");
  const fresh = form.cloneNode(false);
  form.replaceWith(fresh);
  const status = el("span", { class: "msg", role: "status", "aria-live": "polite", hidden: true });
  const local = el(
    "select",
    { name: "local_status" },
    el("option", { value: "" }, "From the mailing ZIP code"),
    Object.entries(LOCAL).map(([value, label]) => el("option", { value }, label)),
  );
  local.value = profile.local_status_source === "manual" ? profile.local_status : "";
  const exclude = el("input", { type: "checkbox", name: "exclude_from_reports", checked: profile.exclude_from_reports });
  const save = el("button", { type: "submit" }, "Save reporting settings");
  fill(
    fresh,
    el("label", { class: "field" }, el("span", { class: "label" }, `Local status (now ${LOCAL[profile.local_status] || profile.local_status}, ${profile.local_status_source})`), local),
    el("label", { class: "check" }, exclude, "Exclude from reports"),
    save,
    status,
  );
  fresh.addEventListener("submit", (event) => {
    event.preventDefault();
    act({
      button: save,
      status,
      busy: "Saving",
      done: (r) => `Saved: ${LOCAL[r.local_status] || r.local_status} (${r.local_status_source})${r.exclude_from_reports ? ", excluded from reports" : ""}.`,
      action: () => api.patch(`/api/v1/volunteers/${profile.id}`, { local_status: local.value || null, exclude_from_reports: exclude.checked }),
    });
  });
}

async function loadParticipations(id, page) {
  const host = document.getElementById("participations");
  try {
    const result = await getPage(`/api/v1/volunteers/${id}/participations`, {}, page, 20);
    fill(
      host,
      table({
        caption: `${fmtNumber(result.total)} participation${result.total === 1 ? "" : "s"}`,
        columns: [
          { label: "Date", cell: (p) => fmtDate(p.event.start_day || p.event.start_date) },
          { label: "Event", cell: (p) => p.event.title },
          { label: "Format", cell: (p) => (p.event.format === "virtual" ? "Virtual" : "In person") },
          { label: "School", cell: (p) => p.event.school_name || "—" },
          { label: "Role", cell: (p) => p.participant_type },
          { label: "Status", cell: (p) => p.status },
          { label: "Hours", class: "num", cell: (p) => fmtNumber(p.delivery_hours) },
        ],
        items: result.items,
        empty: "No participations yet.",
      }),
      result.total > result.pageSize ? pager(result, (p) => loadParticipations(id, p), "participations") : null,
    );
  } catch (error) {
    fill(host, el("p", { class: "msg msg-error" }, `Could not load participations: ${describe(error)}`));
  }
}

async function loadCommunications(id, page) {
  const host = document.getElementById("communications");
  try {
    const result = await getPage(`/api/v1/volunteers/${id}/communications`, {}, page, 20);
    const sync = result.sync;
    fill(
      host,
      sync && sync.stale ? el("p", { class: "msg msg-info" }, `Logged emails may be out of date: the last sync succeeded ${fmtDateTime(sync.last_success_at)}.`) : null,
      table({
        caption: `${fmtNumber(result.total)} logged email${result.total === 1 ? "" : "s"}`,
        columns: [
          { label: "When", cell: (c) => fmtDateTime(c.occurred_at || c.occurred_on) },
          { label: "Direction", cell: (c) => c.direction },
          { label: "Subject", cell: (c) => c.subject || "(no subject)" },
          { label: "Excerpt", cell: (c) => c.snippet || "" },
        ],
        items: result.items,
        empty: "No logged emails for this volunteer.",
      }),
      result.total > result.pageSize ? pager(result, (p) => loadCommunications(id, p), "emails") : null,
    );
  } catch (error) {
    fill(host, el("p", { class: "msg msg-error" }, `Could not load communications: ${describe(error)}`));
  }
}
