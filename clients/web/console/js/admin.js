// Administration (07 CAP): staff users, API keys (the key shown once), the teacher-access kill
// switch, the audit log (admins), and the email outbox with re-queue (global staff).
import { api, getPage } from "./api.js";
import { startPage, myDistricts } from "./layout.js";
import { el, fill, say, describe, act, table, pager, fmtDateTime, badge, options, field } from "./ui.js";

const LEVELS = [
  { value: 0, label: "User" },
  { value: 1, label: "Supervisor" },
  { value: 2, label: "Manager" },
  { value: 3, label: "Admin" },
];
const SCOPES = ["read", "sync:run", "sync:read", "imports:write"];

const ctx = await startPage({ cap: "outbox" });
if (ctx) main(ctx);

async function main({ can }) {
  const status = document.getElementById("status");
  if (can.admin) {
    document.querySelectorAll(".admin-only").forEach((section) => (section.hidden = false));
    const districts = await myDistricts().catch(() => []);
    setupUsers(status, districts);
    setupKeys(status);
    setupSwitch(status);
    setupAudit(status);
  }
  setupOutbox(status);
}

function formOf(id) {
  return Object.fromEntries(new FormData(document.getElementById(id)).entries());
}

function setupUsers(status, districts) {
  const names = Object.fromEntries(districts.map((d) => [d.id, d.name]));
  const load = async (page = 1) => {
    try {
      const result = await getPage("/api/v1/users", formOf("user-filters"), page, 25);
      fill(
        document.getElementById("users"),
        table({
          caption: `${result.total} user${result.total === 1 ? "" : "s"}`,
          columns: [
            { label: "Email", cell: (u) => u.email },
            { label: "Name", cell: (u) => [u.first_name, u.last_name].filter(Boolean).join(" ") || "—" },
            { label: "Level", cell: (u) => u.security_level_name },
            { label: "Scope", cell: (u) => (u.scope_type === "global" ? "All districts" : u.allowed_district_ids.map((id) => names[id] || `#${id}`).join(", ")) },
            { label: "Last sign-in", cell: (u) => fmtDateTime(u.last_login_at) },
            { label: "Active", cell: (u) => activeToggle(u, status, () => load(result.page)) },
          ],
          items: result.items,
          empty: "No user matches. Clear the search, or add a user below.",
        }),
        pager(result, load, "users"),
      );
    } catch (error) {
      say(status, `Loading users failed: ${describe(error)}`, "error");
    }
  };
  document.getElementById("user-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    load(1);
  });
  load(1);

  const form = document.getElementById("user-form");
  const scope = el("select", { name: "scope_type" }, el("option", { value: "global" }, "All districts"), el("option", { value: "district" }, "Chosen districts"));
  const picks = el("select", { name: "allowed_district_ids", multiple: true, size: "4" }, options(districts.map((d) => ({ value: d.id, label: d.name }))));
  const save = el("button", { type: "submit" }, "Add user");
  fill(
    form,
    field("Email", el("input", { name: "email", type: "email", required: true, maxlength: "320", autocomplete: "off" })),
    field("First name", el("input", { name: "first_name", maxlength: "100" })),
    field("Last name", el("input", { name: "last_name", maxlength: "100" })),
    field("Temporary password", el("input", { name: "password", type: "password", required: true, minlength: "12", maxlength: "256", autocomplete: "new-password" }), "At least 12 characters"),
    field("Level", el("select", { name: "security_level" }, options(LEVELS))),
    field("Scope", scope),
    field("Districts (for chosen districts)", picks),
    el("div", { class: "toolbar" }, save),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const values = Object.fromEntries(new FormData(form).entries());
    const body = {
      email: values.email,
      first_name: values.first_name || null,
      last_name: values.last_name || null,
      password: values.password,
      security_level: Number(values.security_level),
      scope_type: values.scope_type,
      allowed_district_ids: values.scope_type === "district" ? [...picks.selectedOptions].map((o) => Number(o.value)) : [],
    };
    const created = await act({ button: save, status, busy: "Adding the user", done: (u) => `Added ${u.email}.`, action: () => api.post("/api/v1/users", body) });
    if (created) {
      form.reset();
      load(1);
    }
  });
}

function activeToggle(user, status, reload) {
  const button = el("button", { type: "button", class: user.is_active ? "secondary" : "" }, user.is_active ? `Deactivate ${user.email}` : `Reactivate ${user.email}`);
  button.addEventListener("click", async () => {
    const done = await act({
      button,
      status,
      busy: user.is_active ? "Deactivating" : "Reactivating",
      done: (u) => `${u.email} is now ${u.is_active ? "active" : "deactivated"}.`,
      action: () => api.patch(`/api/v1/users/${user.id}`, { is_active: !user.is_active }),
    });
    if (done) reload();
  });
  return el("span", {}, user.is_active ? badge("Active", "ok") : badge("Deactivated", "warn"), " ", button);
}

function setupKeys(status) {
  const load = async (page = 1) => {
    try {
      const result = await getPage("/api/v1/api-keys", {}, page, 25);
      fill(
        document.getElementById("keys"),
        table({
          caption: `${result.total} key${result.total === 1 ? "" : "s"}`,
          columns: [
            { label: "Name", cell: (k) => k.name },
            { label: "Starts with", cell: (k) => el("code", {}, k.prefix) },
            { label: "Scopes", cell: (k) => k.scopes.join(", ") },
            { label: "Last used", cell: (k) => fmtDateTime(k.last_used_at) },
            { label: "Expires", cell: (k) => fmtDateTime(k.expires_at) },
            {
              label: "",
              cell: (k) => {
                if (k.revoked_at) return badge("Revoked", "warn");
                const button = el("button", { type: "button", class: "danger" }, `Revoke ${k.name}`);
                button.addEventListener("click", async () => {
                  const done = await act({ button, status, busy: "Revoking the key", done: "Key revoked.", action: () => api.del(`/api/v1/api-keys/${k.id}`) });
                  if (done) load(result.page);
                });
                return button;
              },
            },
          ],
          items: result.items,
          empty: "No API keys. Create one above for the scheduler.",
        }),
        pager(result, load, "keys"),
      );
    } catch (error) {
      say(status, `Loading API keys failed: ${describe(error)}`, "error");
    }
  };
  const form = document.getElementById("key-form");
  const name = el("input", { name: "name", required: true, maxlength: "100" });
  const scopes = SCOPES.map((scope) => el("label", { class: "check" }, el("input", { type: "checkbox", name: "scopes", value: scope, checked: scope !== "imports:write" }), scope));
  const create = el("button", { type: "submit" }, "Create key");
  fill(form, field("Key name", name), el("fieldset", {}, el("legend", {}, "Scopes"), scopes), create);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const chosen = [...form.querySelectorAll("input[name=scopes]:checked")].map((box) => box.value);
    const created = await act({ button: create, status, busy: "Creating the key", done: "Key created: copy it now.", action: () => api.post("/api/v1/api-keys", { name: name.value, scopes: chosen }) });
    if (!created) return;
    const shown = document.getElementById("new-key");
    fill(shown, el("strong", {}, "Copy this key now; it will not be shown again: "), el("code", { class: "secret" }, created.key));
    shown.hidden = false;
    form.reset();
    load(1);
  });
  load(1);
}

async function setupSwitch(status) {
  const host = document.getElementById("switch");
  const render = (settings) => {
    const button = el("button", { type: "button", class: settings.enabled ? "danger" : "" }, settings.enabled ? "Turn teacher access off" : "Turn teacher access on");
    button.addEventListener("click", async () => {
      const next = await act({
        button,
        status,
        busy: settings.enabled ? "Turning teacher access off" : "Turning teacher access on",
        done: (s) => `Teacher access is ${s.enabled ? "on" : "off"}.`,
        action: () => api.put("/api/v1/teacher-access/settings", { enabled: !settings.enabled }),
      });
      if (next) render(next);
    });
    fill(host, settings.enabled ? badge("On: teachers can sign in with magic links", "ok") : badge("Off: teacher access is disabled", "bad"), button);
  };
  try {
    render(await api.get("/api/v1/teacher-access/settings"));
  } catch (error) {
    fill(host, el("p", { class: "msg msg-error" }, `Could not read the setting: ${describe(error)}`));
  }
}

function setupAudit(status) {
  const load = async (page = 1) => {
    const values = formOf("audit-filters");
    try {
      const result = await getPage("/api/v1/audit-log", values, page, 25);
      fill(
        document.getElementById("audit"),
        table({
          caption: `${result.total} entr${result.total === 1 ? "y" : "ies"}, newest first`,
          columns: [
            { label: "When", cell: (a) => fmtDateTime(a.occurred_at) },
            { label: "Who", cell: (a) => `${a.actor_type}${a.actor_id ? ` #${a.actor_id}` : ""}${a.actor_role ? ` (${a.actor_role})` : ""}` },
            { label: "Action", cell: (a) => a.action },
            { label: "Entity", cell: (a) => [a.entity_type, a.entity_id].filter(Boolean).join(" #") || "—" },
            { label: "Changes", cell: (a) => el("code", { class: "changes" }, JSON.stringify(a.changes)) },
          ],
          items: result.items,
          empty: "No entries for these filters.",
        }),
        pager(result, load, "entries"),
      );
    } catch (error) {
      say(status, `Loading the audit log failed: ${describe(error)}`, "error");
    }
  };
  document.getElementById("audit-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    load(1);
  });
  load(1);
}

function setupOutbox(status) {
  const load = async (page = 1) => {
    try {
      const result = await getPage("/api/v1/outbox", formOf("outbox-filters"), page, 25);
      fill(
        document.getElementById("outbox"),
        table({
          caption: `${result.total} email${result.total === 1 ? "" : "s"}`,
          columns: [
            { label: "Created", cell: (m) => fmtDateTime(m.created_at) },
            { label: "Kind", cell: (m) => m.kind },
            { label: "Subject", cell: (m) => m.subject },
            { label: "Status", cell: (m) => badge(m.status, m.status === "sent" ? "ok" : m.status === "failed" ? "bad" : "") },
            { label: "Attempts", class: "num", cell: (m) => m.attempts },
            { label: "Last error", cell: (m) => m.last_error || "—" },
            {
              label: "",
              cell: (m) => {
                if (m.status !== "failed") return "";
                const button = el("button", { type: "button", class: "secondary" }, `Re-queue email ${m.id}`);
                button.addEventListener("click", async () => {
                  const done = await act({ button, status, busy: "Re-queueing", done: "Queued again.", action: () => api.post(`/api/v1/outbox/${m.id}/requeue`) });
                  if (done) load(result.page);
                });
                return button;
              },
            },
          ],
          items: result.items,
          empty: "No emails with this status.",
        }),
        pager(result, load, "emails"),
      );
    } catch (error) {
      say(status, `Loading the outbox failed: ${describe(error)}`, "error");
    }
  };
  document.getElementById("outbox-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    load(1);
  });
  load(1);
}
