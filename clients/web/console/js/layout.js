// Every page starts here: signed in? who is it (GET /api/v1/auth/me)? which pages may they use
// (07 CAP matrix)? Builds the navigation and the sign-out button; refuses pages the role may not use.
import { api, clearToken, getToken, redirectToSignIn, getAll, SIGN_IN_PAGE } from "./api.js";
import { el, fill, say, describe } from "./ui.js";

const ADMIN = 3;
const MANAGER = 2;

/**
 * Capabilities of a principal (PrincipalOut), after 07 §2. The API refuses more anyway;
 * the console must not even offer what the role may not do.
 */
export function capabilities(me) {
  const staff = me.kind === "user";
  const level = me.security_level ?? -1;
  const global = me.scope_type === "global";
  return {
    admin: staff && level >= ADMIN, // users, API keys, audit log, teacher-access switch, outbox
    publishing: staff && global, // visibility, note, district links
    virtualEdit: staff && global, // create/edit virtual sessions, tags
    cancellation: staff, // cancellation reason (district users within their districts)
    syncs: staff && global, // trigger and read syncs
    imports: staff && global, // Pathful and roster uploads, unmatched queue
    manageProgress: staff && global && level >= MANAGER, // overrides, deactivation, reactivation
    volunteers: staff && global, // search, profiles, communications, export
    globalMetrics: staff && global, // dashboards and metrics without a district
    districtData: staff, // district metrics, year-end report, teacher progress (own districts)
    outbox: staff && global,
    global,
    districtIds: me.allowed_district_ids || [],
  };
}

/**
 * The navigation: one entry per page; `cap` names the capability that shows it.
 * To add a page: add an entry here (file, label, cap) and create the file (see CONVENTIONS.md).
 */
export const NAV = [
  { page: "index.html", label: "Home", cap: null },
  {
    page: "publishing.html",
    label: "Publishing",
    cap: "publishing",
    description: "Show or hide upcoming events, add notes and district links, run the publishing sync.",
  },
  { page: "syncs.html", label: "Syncs", cap: "syncs", description: "Health of every sync, start a run, run history and errors." },
  {
    page: "imports.html",
    label: "Imports",
    cap: "imports",
    description: "Upload Pathful reports and district rosters; work the unmatched and no-date queues.",
  },
  { page: "progress.html", label: "Teacher progress", cap: "districtData", description: "Teacher progress by district, school and teacher." },
  { page: "metrics.html", label: "Metrics", cap: "districtData", description: "Program metrics for a school year or any dates, by district or school, with exports." },
  {
    page: "yearend.html",
    label: "Year-end reports",
    cap: "districtData",
    description: "District year-end reports: events by month, programs, timeline, schools and staff-entered figures.",
  },
  { page: "volunteers.html", label: "Volunteers", cap: "volunteers", description: "Find volunteers, open a profile with participations and emails, export CSV." },
  {
    page: "virtual.html",
    label: "Virtual sessions",
    cap: "virtualEdit",
    description: "Create and edit virtual sessions, tag presenters and teachers, cancellations, recruitment and flags.",
  },
  { page: "admin.html", label: "Admin", cap: "outbox", description: "Users, API keys, audit log, teacher-access switch and the email outbox." },
];

function currentPage() {
  return location.pathname.split("/").pop() || "index.html";
}

let districtCache = null;

/** The districts this user may see: the API restricts the list to a district user's own. */
export async function myDistricts() {
  if (!districtCache) districtCache = getAll("/api/v1/districts");
  return districtCache;
}

/**
 * Start a page: `cap` is the capability it needs (null: any signed-in staff user).
 * Resolves to {me, can, districts} or null when the page must not run (not signed in,
 * redirected, or not allowed; the page then shows why).
 */
export async function startPage({ cap = null } = {}) {
  if (!getToken()) {
    redirectToSignIn();
    return null;
  }
  const nav = document.getElementById("nav");
  const main = document.getElementById("main");
  let me;
  try {
    me = await api.get("/api/v1/auth/me");
  } catch (error) {
    if (error.status !== 401) fill(main, el("p", { class: "msg msg-error", role: "alert" }, `Could not load your account: ${describe(error)}`));
    return null;
  }
  if (me.kind !== "user") {
    clearToken();
    redirectToSignIn();
    return null;
  }
  const can = capabilities(me);
  buildNav(nav, me, can);
  if (cap && !can[cap]) {
    fill(
      main,
      el("h1", {}, "Not available for your role"),
      el("p", {}, "Your account cannot use this page. Choose another page from the menu, or ask an administrator for access."),
    );
    return null;
  }
  document.body.classList.add("ready");
  return { me, can };
}

function buildNav(nav, me, can) {
  if (!nav) return;
  const here = currentPage();
  const links = NAV.filter((entry) => !entry.cap || can[entry.cap]).map((entry) =>
    el("li", {}, el("a", { href: entry.page, "aria-current": entry.page === here ? "page" : null }, entry.label)),
  );
  const user = me.user || {};
  const name = [user.first_name, user.last_name].filter(Boolean).join(" ") || user.email || "Signed in";
  const scope = can.global ? "all districts" : `${can.districtIds.length} district${can.districtIds.length === 1 ? "" : "s"}`;
  const signOut = el("button", { type: "button", class: "link", id: "sign-out", on: { click: signOutNow } }, "Sign out");
  fill(
    nav,
    el("a", { class: "brand", href: "index.html" }, "Polaris staff console"),
    el("ul", { class: "menu" }, links),
    el("span", { class: "who" }, `${name} · ${user.security_level_name || me.role} · ${scope}`),
    signOut,
  );
}

export function signOutNow() {
  clearToken();
  location.assign(`${SIGN_IN_PAGE}?signed-out=1`);
}

/** A district <select> limited to the user's districts; `anyLabel` adds an "all" first option. */
export async function districtSelect(select, { anyLabel, status } = {}) {
  try {
    const districts = await myDistricts();
    fill(select, anyLabel !== undefined ? el("option", { value: "" }, anyLabel) : null, districts.map((d) => el("option", { value: String(d.id) }, d.name)));
    return districts;
  } catch (error) {
    say(status, `Could not load districts: ${describe(error)}`, "error");
    return [];
  }
}
