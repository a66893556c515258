// Sync runs shared by the Publishing and Syncs pages: follow a run until it finishes.
import { api } from "./api.js";
import { sleep } from "./ui.js";

export const FINISHED = new Set(["succeeded", "partial", "failed"]);

/** "running · 12 created, 3 updated · 0 errors" */
export function runSummary(run) {
  const counts = Object.entries(run.counts || {})
    .filter(([, value]) => typeof value === "number" && value)
    .map(([key, value]) => `${value} ${key.replaceAll("_", " ")}`);
  return [run.status, counts.join(", ") || "no records yet", `${run.error_count ?? 0} errors`].join(" · ");
}

/** Poll GET /api/v1/sync/runs/{id} until the run has finished; `onUpdate(run)` on each poll. */
export async function followRun(runId, onUpdate, { interval = 1000, timeout = 15 * 60 * 1000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const run = await api.get(`/api/v1/sync/runs/${runId}`);
    onUpdate(run);
    if (FINISHED.has(run.status)) return run;
    if (Date.now() > deadline) throw new Error("The run is still going; see the Syncs page for its progress.");
    await sleep(interval);
  }
}
