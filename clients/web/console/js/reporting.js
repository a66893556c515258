// Shared by the metrics and year-end pages: school years (06 §6.1), the metric catalogue,
// the 06 §7 data-freshness line, and file downloads of CSV/XLSX exports.
import { request } from "./api.js";
import { el, fmtDateTime } from "./ui.js";

/** 06 §3 metric ids in catalogue order, with the label staff read. */
export const METRICS = [
  ["M10", "Unique students reached"],
  ["M20", "Unique volunteers reached"],
  ["M30", "Volunteer hours"],
  ["M40", "Unique organisations engaged"],
  ["M60", "Events"],
  ["M61", "Virtual sessions"],
  ["M62", "In-person events"],
  ["M63", "Cancelled events"],
  ["M70", "Unique teachers reached (virtual)"],
  ["M71", "Classrooms reached"],
  ["M72", "Confirmed teachers"],
  ["M73", "Estimated virtual students"],
  ["M80", "Virtual experiences"],
  ["M81", "Local sessions"],
  ["M82", "Sessions with a presenter of colour"],
  ["M83", "Local session %"],
  ["M84", "Presenter-of-colour session %"],
  ["M90", "Volunteers of colour"],
  ["M91", "Local volunteers"],
  ["M92", "First-time volunteers"],
  ["M100", "Unique schools reached"],
  ["M111", "Average students per volunteer"],
];
export const KEY_FIGURES = ["M10", "M20", "M30", "M60", "M61", "M62", "M70", "M73", "M40", "M100"];
export const LABEL = Object.fromEntries(METRICS);

/** A school year code YYZZ (06 §6.1): Aug 1 of 20YY to Jul 31 of 20ZZ, Chicago dates. */
export function schoolYear(code) {
  const start = 2000 + Number(code.slice(0, 2));
  return { code, label: `${start}-${start + 1}`, from: `${start}-08-01`, to: `${start + 1}-07-31` };
}

/** The school year containing a date (local calendar; Chicago for the people who use it). */
export function currentSchoolYearCode(today = new Date()) {
  const start = today.getMonth() >= 7 ? today.getFullYear() : today.getFullYear() - 1;
  const yy = String(start % 100).padStart(2, "0");
  const zz = String((start + 1) % 100).padStart(2, "0");
  return `${yy}${zz}`;
}

/** The current and the previous `count - 1` school years, newest first. */
export function recentSchoolYears(count = 5, today = new Date()) {
  const current = Number(currentSchoolYearCode(today).slice(0, 2));
  return Array.from({ length: count }, (_, i) => {
    const yy = (current - i + 100) % 100;
    return schoolYear(`${String(yy).padStart(2, "0")}${String((yy + 1) % 100).padStart(2, "0")}`);
  });
}

/** Format one metric value: percentages with %, hours with 2 decimals, maps as "type: n". */
export function formatMetric(id, value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "object") {
    const entries = Object.entries(value);
    return entries.length ? entries.map(([key, n]) => `${key}: ${n}`).join(", ") : "none";
  }
  if (id === "M83" || id === "M84") return `${Number(value).toFixed(1)} %`;
  if (id === "M30") return Number(value).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return Number(value).toLocaleString();
}

/** 06 §7: "Computed … · Salesforce events synced … · Pathful imported …" — always shown. */
export function metaLine(meta) {
  if (!meta) return "";
  const parts = [`Computed ${fmtDateTime(meta.computed_at)}${meta.cached ? " (cached)" : ""}`, `definitions ${meta.metrics_version}`];
  const freshness = meta.data_freshness || {};
  const salesforce = freshness.salesforce || {};
  const synced = Object.entries(salesforce).map(([object, at]) => `${object.replaceAll("_", " ")} ${at ? fmtDateTime(at) : "never synced"}`);
  if (synced.length) parts.push(`Salesforce data as of: ${synced.join("; ")}`);
  if ("pathful" in freshness) parts.push(`Pathful ${freshness.pathful ? `imported ${fmtDateTime(freshness.pathful)}` : "never imported"}`);
  const n = meta.parameters?.virtual_students_per_teacher;
  if (n !== undefined && n !== null) parts.push(`${n} students per virtual classroom`);
  return parts.join(" · ");
}

/** Download a CSV/XLSX export through the API (the bearer token never goes into a URL). */
export async function download(path, params, fallbackName) {
  const response = await request("GET", path, { params, raw: true });
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="?([^";]+)"?/i.exec(disposition);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: match ? match[1] : fallbackName, class: "visually-hidden" }, "download");
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return match ? match[1] : fallbackName;
}
