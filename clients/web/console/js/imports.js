// Imports (04 PF-*, RO-*): Pathful upload with the dry-run report first (every bucket with its
// row numbers) and commit on confirmation; roster upload per district with the RO-9 deactivation
// guard; the unmatched queue (resolve, ignore, bulk ignore); the no-date queue; import history.
import { api, getPage } from "./api.js";
import { districtSelect, startPage } from "./layout.js";
import { act, badge, describe, el, field, fill, fmtDateTime, pager, say, table } from "./ui.js";

const status = document.getElementById("status");
let ctx = null;

ctx = await startPage({ cap: "imports" });
if (ctx) {
  setUpPathful();
  await setUpRoster();
  document.getElementById("unmatched-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadUnmatched(1);
  });
  await Promise.all([loadUnmatched(1), loadNoDate(1), loadHistory(1)]);
}

// --- reports -------------------------------------------------------------------------------------

const rowsOf = (items) => [...new Set(items.map((item) => item.row).filter((row) => row !== null && row !== undefined))].sort((a, b) => a - b);

function rowList(rows) {
  if (!rows.length) return "—";
  const shown = rows.slice(0, 40).join(", ");
  return rows.length > 40 ? `rows ${shown} … (${rows.length} rows)` : `row${rows.length === 1 ? "" : "s"} ${shown}`;
}

/** The PF-19 report: every bucket with its count and, where the report has them, row numbers. */
export function pathfulReport(report) {
  const events = report.event_changes || [];
  const participations = report.participation_changes || [];
  const sessions = (action) => {
    const ids = events.filter((e) => e.action === action).map((e) => e.session_id);
    return ids.length ? `sessions ${ids.slice(0, 30).join(", ")}${ids.length > 30 ? " …" : ""}` : "—";
  };
  const byAction = (action) => rowList(rowsOf(participations.filter((p) => p.action === action)));
  const buckets = [
    ["Events to create", report.created_events, sessions("created")],
    ["Events to update", report.updated_events, sessions("updated")],
    ["Participations to create", report.created_participations, byAction("created")],
    ["Participations to update", report.updated_participations, byAction("updated")],
    ["Unchanged", report.unchanged, "—"],
    ["Unmatched teachers (go to the queue)", report.unmatched_teachers, "—"],
    ["Unmatched presenters (go to the queue)", report.unmatched_volunteers, "—"],
    ["Sessions without a date (go to the queue)", report.queued_no_date, "—"],
    ["Skipped: before the cutoff", report.skipped_before_cutoff, "—"],
    ["Skipped: draft without a date", report.skipped_draft_no_date, "—"],
    ["Skipped: another partner", report.skipped_other_partner, "—"],
    ["Skipped: role not imported", report.skipped_role, "—"],
    ["Invalid rows", report.invalid, rowList(rowsOf(report.invalid_rows || []))],
    ["Earlier unmatched rows now resolved", report.resolved_unmatched, "—"],
    ["Pathful ids filled in", report.backfilled_ids, "—"],
  ];
  return el(
    "div",
    { class: "report" },
    el(
      "p",
      {},
      `${report.dry_run ? "Dry run: nothing was written. " : "Imported. "}`,
      `${report.rows_total} rows read, ${report.processed} processed · mode ${report.mode}`,
      report.cutoff_date ? ` · sessions from ${report.cutoff_date}` : "",
      report.import_id ? ` · import ${report.import_id}` : "",
    ),
    table({
      caption: report.dry_run ? "What this report would change" : "What the import changed",
      className: "data buckets",
      columns: [
        { label: "Bucket", cell: ([name]) => name },
        { label: "Count", class: "num", cell: ([, count]) => String(count ?? 0) },
        { label: "Rows", cell: ([, , rows]) => rows },
      ],
      items: buckets,
    }),
    report.changes_truncated ? el("p", { class: "muted" }, "The lists of changes were shortened; the counts are complete.") : null,
    (report.invalid_rows || []).length
      ? table({
          caption: "Invalid rows",
          columns: [
            { label: "Row", class: "num", cell: (r) => String(r.row) },
            { label: "Session", cell: (r) => r.session_id || "—" },
            { label: "Reason", cell: (r) => r.reason },
            { label: "Value", cell: (r) => r.value ?? "—" },
          ],
          items: report.invalid_rows,
        })
      : null,
    warningsTable(report.warnings || []),
  );
}

function warningsTable(warnings) {
  if (!warnings.length) return null;
  return table({
    caption: "Warnings",
    columns: [
      { label: "Row", class: "num", cell: (w) => (w.row ?? w.first_row ?? "—").toString() },
      { label: "Code", cell: (w) => el("code", {}, w.code) },
      { label: "Message", cell: (w) => [w.message, w.column ? ` (column ${w.column})` : ""] },
    ],
    items: warnings,
  });
}

// --- Pathful upload: dry run first, then commit on confirmation ----------------------------------

function setUpPathful() {
  const form = document.getElementById("pathful-form");
  const box = document.getElementById("pathful-report");
  const line = document.getElementById("pathful-status");
  const formData = (dryRun) => {
    const data = new FormData();
    data.append("file", form.file.files[0]);
    data.append("mode", form.mode.value);
    if (form.mode.value === "since" && form.since.value) data.append("since", form.since.value);
    data.append("dry_run", dryRun ? "true" : "false");
    return data;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.file.files.length) {
      say(line, "Choose the Pathful report file first.", "error");
      return;
    }
    fill(box);
    const report = await act({
      button: document.getElementById("pathful-check"),
      status: line,
      busy: "Checking the report (dry run)",
      done: "Dry run finished: review the changes below, then confirm.",
      action: () => api.upload("/api/v1/imports/pathful", formData(true)),
    });
    if (!report) return;
    const confirm = el("button", { type: "button", id: "pathful-commit" }, "Import these changes");
    const cancel = el("button", { type: "button", class: "secondary", on: { click: () => { fill(box); say(line, "Import cancelled; nothing was written.", "info"); } } }, "Cancel");
    confirm.addEventListener("click", async () => {
      const done = await act({
        button: [confirm, cancel],
        status: line,
        busy: "Importing the report",
        done: (result) => `Imported: import ${result.import_id}. ${result.unmatched_teachers + result.unmatched_volunteers} unmatched rows are in the queue below.`,
        action: () => api.upload("/api/v1/imports/pathful", formData(false)),
      });
      if (!done) return;
      fill(box, pathfulReport(done));
      form.reset();
      await Promise.all([loadUnmatched(1), loadNoDate(1), loadHistory(1)]);
    });
    fill(box, pathfulReport(report), el("div", { class: "toolbar" }, confirm, cancel));
    confirm.focus();
  });
}

// --- Roster upload with the deactivation guard ---------------------------------------------------

async function setUpRoster() {
  const form = document.getElementById("roster-form");
  const box = document.getElementById("roster-report");
  const line = document.getElementById("roster-status");
  await districtSelect(document.getElementById("roster-district"), { anyLabel: "Choose a district", status });
  const formData = (dryRun, force = false) => {
    const data = new FormData();
    data.append("district_id", form.district_id.value);
    data.append("file", form.file.files[0]);
    data.append("dry_run", dryRun ? "true" : "false");
    if (force) data.append("force", "true");
    return data;
  };
  const districtName = () => form.district_id.selectedOptions[0]?.textContent || "the district";

  async function commit(buttons, force) {
    try {
      buttons.forEach((b) => (b.disabled = true));
      say(line, force ? "Importing the roster past the guard…" : "Importing the roster…", "busy");
      const report = await api.upload("/api/v1/imports/roster", formData(false, force));
      say(line, `Roster imported for ${districtName()}: ${report.added} added, ${report.updated} updated, ${report.deactivated} deactivated.`, "ok");
      fill(box, rosterReport(report));
      form.reset();
      await loadHistory(1);
    } catch (error) {
      buttons.forEach((b) => (b.disabled = false));
      if (error.code === "mass_deactivation_blocked") {
        guardBlocked(error);
      } else {
        say(line, `Importing the roster failed: ${describe(error)}`, "error");
      }
    }
  }

  function guardBlocked(error) {
    say(line, `Stopped by the deactivation guard: ${describe(error)}`, "error");
    const report = error.problem && error.problem.report;
    const check = el("input", { type: "checkbox", id: "roster-force-ok" });
    const force = el("button", { type: "button", class: "danger", disabled: true }, "Import anyway");
    check.addEventListener("change", () => (force.disabled = !check.checked));
    force.addEventListener("click", () => commit([force], true));
    fill(
      box,
      el("p", {}, "Nothing was written. Check that this is the complete roster for the district and year. If these teachers really left, confirm below."),
      report ? rosterReport(report) : null,
      el("label", { class: "check" }, check, "I checked the list: deactivate these teachers."),
      el("div", { class: "toolbar" }, force),
    );
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.file.files.length) {
      say(line, "Choose the roster file first.", "error");
      return;
    }
    fill(box);
    let report;
    try {
      document.getElementById("roster-check").disabled = true;
      say(line, "Checking the roster (dry run)…", "busy");
      report = await api.upload("/api/v1/imports/roster", formData(true));
      say(line, "Dry run finished: review the changes below, then confirm.", "ok");
    } catch (error) {
      if (error.code === "mass_deactivation_blocked") guardBlocked(error);
      else say(line, `Checking the roster failed: ${describe(error)}`, "error");
      return;
    } finally {
      document.getElementById("roster-check").disabled = false;
    }
    const confirm = el("button", { type: "button", id: "roster-commit" }, "Import this roster");
    confirm.addEventListener("click", () => commit([confirm], false));
    fill(box, rosterReport(report), el("div", { class: "toolbar" }, confirm));
    confirm.focus();
  });
}

function rosterReport(report) {
  const changes = report.changes || [];
  return el(
    "div",
    { class: "report" },
    el("p", {}, `${report.dry_run ? "Dry run: nothing was written. " : ""}${report.rows_total} rows · academic year ${report.academic_year || "—"} · ${report.active_before} active teachers before${report.forced ? " · forced past the guard" : ""}`),
    table({
      caption: report.dry_run ? "What this roster would change" : "What the roster changed",
      className: "data buckets",
      columns: [
        { label: "Bucket", cell: ([name]) => name },
        { label: "Count", class: "num", cell: ([, count]) => String(count ?? 0) },
        { label: "Rows", cell: ([, , rows]) => rows },
      ],
      items: [
        ["Added", report.added, rowList(rowsOf(changes.filter((c) => c.action === "added")))],
        ["Updated", report.updated, rowList(rowsOf(changes.filter((c) => c.action === "updated")))],
        ["Unchanged", report.unchanged, "—"],
        ["Skipped rows", report.skipped, rowList(rowsOf(report.warnings || []))],
        ["Deactivated (not in the file)", report.deactivated, "—"],
        ["Teacher records created", report.teachers_created, "—"],
        ["Protected (deactivated by an admin), left alone", (report.protected_skipped || []).length, "—"],
      ],
    }),
    (report.deactivated_records || []).length
      ? table({
          caption: "Teachers who would be deactivated",
          columns: [
            { label: "Name", cell: (r) => r.name },
            { label: "Email", cell: (r) => r.email },
          ],
          items: report.deactivated_records,
        })
      : null,
    warningsTable(report.warnings || []),
  );
}

// --- Unmatched queue -----------------------------------------------------------------------------

async function loadUnmatched(page) {
  const box = document.getElementById("unmatched");
  const type = document.getElementById("unmatched-type").value;
  const state = document.getElementById("unmatched-status").value;
  try {
    const result = await getPage("/api/v1/imports/unmatched", { type: type || "teacher", status: state }, page);
    let items = result.items;
    if (!type) {
      // both kinds of people: teachers and presenters (the no-date queue is below)
      const presenters = await getPage("/api/v1/imports/unmatched", { type: "volunteer", status: state }, page);
      items = items.concat(presenters.items);
      result.total += presenters.total;
      result.pages = Math.max(result.pages, presenters.pages);
    }
    const selected = new Set();
    const reason = el("input", { type: "text", maxLength: 2000, id: "bulk-reason" });
    const bulk = el("button", { type: "button", class: "secondary", id: "bulk-ignore" }, "Ignore selected");
    const line = el("div", { class: "msg", role: "status", "aria-live": "polite", hidden: true });
    bulk.addEventListener("click", async () => {
      if (!selected.size) return say(line, "Select the rows to ignore first.", "error");
      if (!reason.value.trim()) return say(line, "Give a reason for ignoring them.", "error");
      const done = await act({
        button: bulk,
        status: line,
        busy: `Ignoring ${selected.size} rows`,
        done: (r) => `${r.ignored.length} ignored${r.skipped.length ? `, ${r.skipped.length} skipped (already resolved)` : ""}.`,
        action: () => api.post("/api/v1/imports/unmatched/bulk-ignore", { ids: [...selected], reason: reason.value.trim() }),
      });
      if (done) {
        const skipped = done.skipped.length ? ` (${done.skipped.length} already resolved, left as they were)` : "";
        loadUnmatched(1).then(() => say(status, `${done.ignored.length} unmatched row${done.ignored.length === 1 ? "" : "s"} ignored${skipped}.`, "ok"));
      }
    });
    fill(
      box,
      items.length && state === "pending" ? el("div", { class: "toolbar" }, field("Reason for ignoring the selected rows", reason), bulk) : null,
      line,
      table({
        caption: `${result.total} row${result.total === 1 ? "" : "s"}`,
        columns: [
          {
            label: "Select",
            cell: (r) =>
              r.status === "pending"
                ? el("input", {
                    type: "checkbox",
                    "aria-label": `Select row of ${r.attempted_name || r.match_key}`,
                    on: { change: (e) => (e.target.checked ? selected.add(r.id) : selected.delete(r.id)) },
                  })
                : "",
          },
          { label: "Who", cell: (r) => [el("strong", {}, r.attempted_name || "—"), el("br"), r.attempted_email || "", r.type === "volunteer" ? badge("presenter") : badge("teacher")] },
          { label: "Session", cell: (r) => [r.session_id, el("br"), el("span", { class: "muted" }, `row ${r.raw_data && r.raw_data._row ? r.raw_data._row : "—"}${r.attempted_school ? ` · ${r.attempted_school}` : ""}`)] },
          { label: "Why", cell: (r) => [r.reason || "—", r.status !== "pending" ? el("br") : null, r.status !== "pending" ? badge(r.status, r.status === "resolved" ? "ok" : "warn") : null] },
          { label: "Resolve", cell: (r) => (r.status === "pending" ? resolvePanel(r) : r.resolution_note || r.ignored_reason || "—") },
        ],
        items,
        empty: state === "pending" ? "No unmatched rows are waiting. They appear here after a Pathful import that could not match a teacher or presenter." : "No rows match these filters.",
      }),
      pager(result, loadUnmatched, "rows"),
    );
  } catch (error) {
    fill(box, el("p", { class: "msg msg-error" }, `Could not load the unmatched rows: ${describe(error)}`));
  }
}

function resolvePanel(record) {
  const isTeacher = record.type === "teacher";
  const who = record.attempted_name || record.match_key;
  const query = el("input", { type: "search", maxLength: 100 });
  query.value = record.attempted_name || "";
  const results = el("div", { class: "choices", role: "group", "aria-label": `People matching ${who}` });
  const line = el("div", { class: "msg", role: "status", "aria-live": "polite", hidden: true });
  const name = `pick-${record.id}`;
  const choice = (id, label) => el("label", { class: "check" }, el("input", { type: "radio", name, value: String(id) }), label);
  if (record.candidates && record.candidates.length) {
    fill(results, el("p", { class: "muted" }, "Near matches:"), record.candidates.map((id) => choice(id, `${isTeacher ? "Teacher" : "Volunteer"} #${id}`)));
  }
  const search = el("button", { type: "button", class: "secondary", "aria-label": `Find people for ${who}` }, "Find");
  search.addEventListener("click", async () => {
    const found = await act({
      button: search,
      status: line,
      busy: "Searching",
      done: (page) => (page.total ? `${page.total} found; choose one.` : "Nobody found: try another spelling or the email."),
      action: () =>
        isTeacher
          ? getPage("/api/v1/teachers", { q: query.value.trim() }, 1, 10)
          : getPage("/api/v1/volunteers", { name: query.value.trim() }, 1, 10),
    });
    if (!found) return;
    fill(
      results,
      found.items.map((p) =>
        choice(p.id, `${[p.first_name, p.last_name].filter(Boolean).join(" ")}${p.email ? ` · ${p.email}` : ""}${p.school_name ? ` · ${p.school_name}` : ""}${p.organization_name ? ` · ${p.organization_name}` : ""}`),
      ),
    );
  });
  const link = el("button", { type: "button", "aria-label": `Link ${who}` }, "Link");
  link.addEventListener("click", async () => {
    const picked = results.querySelector(`input[name="${name}"]:checked`);
    if (!picked) return say(line, `Find and choose the ${isTeacher ? "teacher" : "presenter"} first.`, "error");
    const body = isTeacher ? { teacher_id: Number(picked.value) } : { volunteer_id: Number(picked.value) };
    const done = await act({
      button: link,
      status: line,
      busy: "Linking",
      done: (r) => `Linked (${r.outcome})${r.also_resolved.length ? `; ${r.also_resolved.length} more rows of the same person resolved` : ""}.`,
      action: () => api.post(`/api/v1/imports/unmatched/${record.id}/resolve`, body),
    });
    if (done) {
      await loadUnmatched(1);
      say(status, `${who} linked: the row was imported (${done.outcome}).`, "ok");
    }
  });
  const reason = el("input", { type: "text", maxLength: 2000 });
  const ignore = el("button", { type: "button", class: "secondary", "aria-label": `Ignore ${who}` }, "Ignore");
  ignore.addEventListener("click", async () => {
    if (!reason.value.trim()) return say(line, "Give a reason for ignoring this row.", "error");
    const done = await act({
      button: ignore,
      status: line,
      busy: "Ignoring",
      done: "Ignored.",
      action: () => api.post(`/api/v1/imports/unmatched/${record.id}/ignore`, { reason: reason.value.trim() }),
    });
    if (done) {
      await loadUnmatched(1);
      say(status, `The row of ${who} is ignored.`, "ok");
    }
  });
  return el(
    "details",
    {},
    el("summary", {}, "Link or ignore"),
    el("div", { class: "inline-form" }, field(`Find a ${isTeacher ? "teacher" : "presenter"} for ${who}`, query), search),
    results,
    link,
    el("div", { class: "inline-form" }, field(`Reason to ignore ${who}`, reason), ignore),
    line,
  );
}

// --- No-date queue -------------------------------------------------------------------------------

async function loadNoDate(page) {
  const box = document.getElementById("nodate");
  try {
    const result = await getPage("/api/v1/imports/unmatched", { type: "no_date_session", status: "pending" }, page);
    fill(
      box,
      table({
        columns: [
          { label: "Session", cell: (r) => [el("strong", {}, r.session_id), el("br"), el("span", { class: "muted" }, titleOf(r))] },
          { label: "Rows", class: "num", cell: (r) => String((r.raw_data && r.raw_data.rows ? r.raw_data.rows.length : 0) || "—") },
          { label: "Start", cell: datePanel },
        ],
        items: result.items,
        empty: "No sessions are waiting for a date.",
      }),
      pager(result, loadNoDate, "sessions"),
    );
  } catch (error) {
    fill(box, el("p", { class: "msg msg-error" }, `Could not load the no-date queue: ${describe(error)}`));
  }
}

function titleOf(record) {
  const rows = (record.raw_data && record.raw_data.rows) || [];
  const first = rows[0] || {};
  return first.title || first.Title || "";
}

function datePanel(record) {
  const input = el("input", { type: "datetime-local", required: true });
  const line = el("div", { class: "msg", role: "status", "aria-live": "polite", hidden: true });
  const button = el("button", { type: "button", class: "secondary", "aria-label": `Set the start of session ${record.session_id}` }, "Set date");
  button.addEventListener("click", async () => {
    if (!input.value) return say(line, "Choose the date and time first.", "error");
    const done = await act({
      button,
      status: line,
      busy: "Importing the session",
      done: (r) => `Imported: ${r.created_events} event created, ${r.created_participations} participations.`,
      action: () => api.post(`/api/v1/imports/unmatched/${record.id}/date`, { start: input.value.replace("T", " ") }),
    });
    if (done) {
      await loadNoDate(1);
      say(status, `Session ${record.session_id} dated and imported (import ${done.import_id}).`, "ok");
    }
  });
  return el("div", {}, el("div", { class: "inline-form" }, field(`Start of session ${record.session_id} (Chicago time)`, input), button), line);
}

// --- History -------------------------------------------------------------------------------------

async function loadHistory(page) {
  const box = document.getElementById("history");
  const lookup = el("input", { type: "number", min: 1, id: "import-lookup" });
  const find = el("button", { type: "button", class: "secondary" }, "Show import");
  const found = el("div", { class: "msg", role: "status", "aria-live": "polite", hidden: true });
  find.addEventListener("click", () =>
    act({
      button: find,
      status: found,
      busy: "Looking up the import",
      done: (r) => `Import ${r.import_id}: ${r.kind}${r.dry_run ? " (dry run)" : ""}, ${r.status}, ${r.rows_total} rows, ${fmtDateTime(r.started_at)}${r.error_detail ? ` — ${r.error_detail}` : ""}`,
      action: () => api.get(`/api/v1/imports/${Number(lookup.value)}`),
    }),
  );
  const lookupForm = el("div", { class: "toolbar" }, field("Import number", lookup), find);
  if (!ctx.can.admin) {
    fill(box, el("p", { class: "muted" }, "Every upload's report shows its import number; look one up here."), lookupForm, found);
    return;
  }
  try {
    const result = await getPage("/api/v1/audit-log", { action: "import.*" }, page, 10);
    fill(
      box,
      table({
        caption: "Imports (from the audit log)",
        columns: [
          { label: "Import", cell: (e) => (e.entity_id ? `Import ${e.entity_id}` : "—") },
          { label: "Kind", cell: (e) => e.action.replace(/^import\./, "").replace(/\.completed$/, "") },
          { label: "When", cell: (e) => fmtDateTime(e.occurred_at) },
          { label: "By", cell: (e) => `${e.actor_type}${e.actor_id ? ` ${e.actor_id}` : ""}` },
          { label: "Summary", cell: (e) => summary(e.changes && e.changes._details) },
        ],
        items: result.items,
        empty: "No imports yet. Upload a Pathful report or a roster above.",
      }),
      pager(result, loadHistory, "imports"),
      lookupForm,
      found,
    );
  } catch (error) {
    fill(box, el("p", { class: "msg msg-error" }, `Could not load the import history: ${describe(error)}`), lookupForm, found);
  }
}

function summary(details) {
  if (!details) return "—";
  return Object.entries(details)
    .filter(([, value]) => typeof value === "number" && value)
    .map(([key, value]) => `${value} ${key.replaceAll("_", " ")}`)
    .join(", ") || "no changes";
}
