// Syncs (09 OBS-*): health of every kind (state, stale, last run, next scheduled time), start a
// run and follow it, run history with filters, run detail with parts, counts and errors.
import { api, getPage } from "./api.js";
import { startPage } from "./layout.js";
import { act, badge, describe, el, fill, fmtDateTime, formValues, pager, say, table } from "./ui.js";
import { FINISHED, followRun, runSummary } from "./runs.js";

const status = document.getElementById("status");
const healthBox = document.getElementById("health");
const historyBox = document.getElementById("history");
const historyForm = document.getElementById("history-filters");
const runSection = document.getElementById("run-section");
const runBox = document.getElementById("run-detail");
const mode = document.getElementById("mode");
let kindsLoaded = false;

const STATE_KIND = { ok: "ok", running: "", stale: "warn", failing: "bad", failed: "bad", never_run: "warn", unavailable: "bad" };

export function statusBadge(value) {
  const kind = { succeeded: "ok", partial: "warn", failed: "bad", running: "", queued: "" }[value] ?? "";
  return badge(value, kind);
}

const ctx = await startPage({ cap: "syncs" });
if (ctx) {
  document.getElementById("refresh").addEventListener("click", () => loadHealth());
  historyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    loadHistory(1);
  });
  window.addEventListener("hashchange", openFromHash);
  await Promise.all([loadHealth(), loadHistory(1)]);
  openFromHash();
}

async function loadHealth({ quiet = false } = {}) {
  if (!quiet) say(status, "Loading sync health…", "busy");
  try {
    const health = await api.get("/api/v1/sync/health");
    const overall = document.getElementById("overall");
    fill(overall, "Overall: ", badge(health.status, health.status === "ok" ? "ok" : "warn"), ` · checked ${fmtDateTime(health.checked_at)}`);
    fill(
      healthBox,
      table({
        caption: "Every sync kind",
        columns: [
          { label: "Kind", cell: (k) => [el("strong", {}, k.kind), el("br"), el("span", { class: "muted" }, k.description)] },
          { label: "State", cell: (k) => [badge(k.state, STATE_KIND[k.state] ?? ""), k.stale ? badge("stale", "warn") : null] },
          { label: "Last run", cell: lastRunCell },
          { label: "Last success", cell: (k) => fmtDateTime(k.last_success_at) },
          { label: "Last failure", cell: (k) => (k.last_failure_at ? [fmtDateTime(k.last_failure_at), el("br"), el("span", { class: "muted" }, k.last_failure_message || k.last_failure_reason || "")] : "—") },
          { label: "Next scheduled", cell: (k) => (k.next_scheduled_at ? fmtDateTime(k.next_scheduled_at) : el("span", { class: "muted" }, `${k.cadence || "on demand"} · not scheduled here`)) },
          { label: "Run", cell: startCell },
        ],
        items: health.kinds,
        empty: "No sync kinds are configured.",
      }),
    );
    if (!kindsLoaded) {
      const select = document.getElementById("kind-filter");
      health.kinds.forEach((k) => select.append(el("option", { value: k.kind }, k.kind)));
      kindsLoaded = true;
    }
    if (!quiet) say(status, "");
  } catch (error) {
    say(status, `Could not load sync health: ${describe(error)}`, "error");
  }
}

function lastRunCell(kind) {
  const run = kind.last_run;
  if (!run) return el("span", { class: "muted" }, "Never run");
  return [
    el("a", { href: `#run=${run.id}` }, `Run ${run.id}`),
    " ",
    statusBadge(run.status),
    el("br"),
    el("span", { class: "muted" }, fmtDateTime(run.finished_at || run.started_at || run.created_at)),
  ];
}

function startCell(kind) {
  if (!kind.available) return el("span", { class: "muted" }, "Not configured on this server");
  if (kind.running_run_id) return el("a", { href: `#run=${kind.running_run_id}` }, `Running: run ${kind.running_run_id}`);
  const line = el("span", { class: "msg", role: "status", hidden: true });
  const button = el(
    "button",
    {
      type: "button",
      class: "secondary",
      "aria-label": `Start ${kind.kind}`,
      on: {
        click: async () => {
          const accepted = await act({
            button,
            status: line,
            busy: `Starting ${kind.kind}`,
            done: (run) => `Run ${run.run_id} started.`,
            action: () => api.post(`/api/v1/sync/${encodeURIComponent(kind.kind)}${mode.value ? `?mode=${mode.value}` : ""}`),
          });
          if (!accepted) return;
          button.disabled = true;
          try {
            const run = await followRun(accepted.run_id, (current) => say(line, `Run ${current.id}: ${runSummary(current)}`, "busy"));
            say(status, `${kind.kind}: run ${run.id} ${run.status} · ${runSummary(run)}`, run.status === "succeeded" ? "ok" : "error");
          } catch (error) {
            say(line, `Could not follow the run: ${describe(error)}`, "error");
            return;
          }
          await Promise.all([loadHealth({ quiet: true }), loadHistory(1)]);
        },
      },
    },
    "Start",
  );
  return [button, line];
}

async function loadHistory(page) {
  try {
    const result = await getPage("/api/v1/sync/runs", formValues(historyForm), page);
    fill(
      historyBox,
      table({
        caption: `${result.total} run${result.total === 1 ? "" : "s"}`,
        columns: [
          { label: "Run", cell: (r) => el("a", { href: `#run=${r.id}` }, `Run ${r.id}`) },
          { label: "Kind", cell: (r) => [r.kind, r.parent_run_id ? el("span", { class: "muted" }, ` (part of ${r.parent_run_id})`) : null] },
          { label: "Status", cell: (r) => statusBadge(r.status) },
          { label: "Mode · trigger", cell: (r) => `${r.mode} · ${r.trigger}` },
          { label: "Started", cell: (r) => fmtDateTime(r.started_at || r.created_at) },
          { label: "Finished", cell: (r) => fmtDateTime(r.finished_at) },
          { label: "Errors", class: "num", cell: (r) => String(r.error_count) },
        ],
        items: result.items,
        empty: "No runs match. Clear the filters, or start a run from the health table above.",
      }),
      pager(result, loadHistory, "runs"),
    );
  } catch (error) {
    fill(historyBox, el("p", { class: "msg msg-error" }, `Could not load run history: ${describe(error)}`));
  }
}

function openFromHash() {
  const match = /^#run=(\d+)$/.exec(location.hash);
  if (match) showRun(Number(match[1]));
}

async function showRun(runId) {
  runSection.hidden = false;
  const heading = document.getElementById("run-heading");
  heading.textContent = `Run ${runId}`;
  fill(runBox, el("p", { class: "msg msg-busy" }, "Loading the run…"));
  try {
    let run = await api.get(`/api/v1/sync/runs/${runId}`);
    renderRun(run);
    heading.focus();
    while (!FINISHED.has(run.status)) {
      run = await followRun(runId, renderRun, { timeout: 60 * 60 * 1000 });
    }
  } catch (error) {
    fill(runBox, el("p", { class: "msg msg-error" }, `Could not load run ${runId}: ${describe(error)}`));
  }
}

function renderRun(run) {
  const counts = Object.entries(run.counts || {});
  fill(
    runBox,
    el(
      "dl",
      { class: "facts" },
      [
        ["Kind", run.kind],
        ["Status", statusBadge(run.status)],
        ["Mode", `${run.mode}${run.effective_mode && run.effective_mode !== run.mode ? ` (ran as ${run.effective_mode})` : ""}`],
        ["Trigger", run.trigger],
        ["Started", fmtDateTime(run.started_at)],
        ["Finished", fmtDateTime(run.finished_at)],
        ["Last heartbeat", fmtDateTime(run.heartbeat_at)],
        ["Part of", run.parent_run_id ? el("a", { href: `#run=${run.parent_run_id}` }, `Run ${run.parent_run_id}`) : "—"],
        ["Failure", run.error_message ? `${run.error_message}${run.error_code ? ` (${run.error_code})` : ""}` : "—"],
      ].flatMap(([label, value]) => [el("dt", {}, label), el("dd", {}, value)]),
    ),
    el("h3", {}, "Counts"),
    table({
      columns: [
        { label: "Count", cell: ([key]) => key.replaceAll("_", " ") },
        { label: "Value", class: "num", cell: ([, value]) => (typeof value === "object" ? JSON.stringify(value) : String(value)) },
      ],
      items: counts,
      empty: "No counts yet.",
    }),
    run.parts && run.parts.length
      ? [
          el("h3", {}, "Parts"),
          table({
            columns: [
              { label: "Run", cell: (p) => el("a", { href: `#run=${p.id}` }, `Run ${p.id}`) },
              { label: "Kind", cell: (p) => p.kind },
              { label: "Status", cell: (p) => statusBadge(p.status) },
              { label: "Errors", class: "num", cell: (p) => String(p.error_count) },
            ],
            items: run.parts,
          }),
        ]
      : null,
    el("h3", {}, `Errors (${run.error_count})`),
    table({
      columns: [
        { label: "Record", cell: (e) => e.salesforce_id || e.record_id || (e.index !== undefined && e.index !== null ? `#${e.index}` : "—") },
        { label: "Code", cell: (e) => (e.code ? el("code", {}, e.code) : "—") },
        { label: "Message", cell: (e) => e.message || e.detail || "—" },
        { label: "Fields", cell: (e) => [].concat(e.missing_fields || e.fields || []).join(", ") || "—" },
      ],
      items: run.errors || [],
      empty: run.error_count ? "The errors of this run were not kept; see its counts." : "This run recorded no errors.",
    }),
  );
}
