// The one way pages talk to the API: fetch with the bearer token, problem+json errors, pagination.
import { API_BASE } from "./config.js";

const TOKEN_KEY = "polaris.console.token";
const RETURN_KEY = "polaris.console.return";
export const SIGN_IN_PAGE = "signin.html";

/** A failed request: `status` (HTTP), `code` (problem code), `detail` (readable sentence). */
export class ApiError extends Error {
  constructor(status, code, detail, problem = null) {
    super(detail || `Request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.code = code || null;
    this.detail = detail || this.message;
    this.problem = problem;
  }
}

// Tokens live in sessionStorage only (never localStorage): closing the tab signs out.
export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}
export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Remember the current console page (in sessionStorage, never in the URL) and go to sign-in. */
export function redirectToSignIn() {
  const here = location.pathname.split("/").pop() || "index.html";
  if (here !== SIGN_IN_PAGE) {
    sessionStorage.setItem(RETURN_KEY, here + location.search + location.hash);
  }
  location.assign(SIGN_IN_PAGE);
}

/** The page to open after signing in: only a page of this console (a bare file name). */
export function takeReturnPage() {
  const page = sessionStorage.getItem(RETURN_KEY);
  sessionStorage.removeItem(RETURN_KEY);
  if (page && /^[a-z0-9-]+\.html([?#][^/]*)?$/i.test(page) && !page.startsWith(SIGN_IN_PAGE)) return page;
  return "index.html";
}

/** `/api/v1/...` + query parameters (empty, null and undefined values are left out). */
export function apiUrl(path, params = {}) {
  const url = new URL(API_BASE + path, API_BASE || location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((item) => url.searchParams.append(key, item));
    else url.searchParams.set(key, value);
  }
  return url.toString();
}

async function problemOf(response) {
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      const body = await response.json();
      let detail = body.detail;
      if (Array.isArray(detail)) detail = detail.map((item) => item.msg || String(item)).join("; ");
      if (Array.isArray(body.errors) && body.errors.length) {
        // validation problems: name each field and what is wrong with it
        const fields = body.errors.slice(0, 5).map((item) => {
          const where = Array.isArray(item.loc) ? item.loc.filter((part) => !["body", "query", "path"].includes(part)).join(".") : "";
          return `${where ? `${where}: ` : ""}${item.msg || item.message || ""}`.trim();
        });
        detail = [detail, fields.join("; ")].filter(Boolean).join(" ");
      }
      return new ApiError(response.status, body.code, detail || body.title, body);
    } catch {
      /* fall through */
    }
  }
  return new ApiError(response.status, null, `${response.status} ${response.statusText}`.trim());
}

/**
 * One request. Options: params (query), json (body), form (FormData or URLSearchParams),
 * raw (return the Response, e.g. for downloads), auth (default true).
 * Resolves to the parsed JSON (null for 204); rejects with ApiError.
 */
export async function request(method, path, { params, json, form, raw = false, auth = true, signal } = {}) {
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // the browser sets the multipart or urlencoded Content-Type
  }
  let response;
  try {
    response = await fetch(apiUrl(path, params), { method, headers, body, signal, credentials: "omit" });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "The API could not be reached. Check your connection and try again.");
  }
  if (response.status === 401 && auth) {
    clearToken();
    redirectToSignIn();
    throw new ApiError(401, "unauthorized", "Your session has ended. Please sign in again.");
  }
  if (!response.ok) throw await problemOf(response);
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const api = {
  get: (path, params, options = {}) => request("GET", path, { ...options, params }),
  post: (path, json, options = {}) => request("POST", path, { ...options, json }),
  put: (path, json, options = {}) => request("PUT", path, { ...options, json }),
  patch: (path, json, options = {}) => request("PATCH", path, { ...options, json }),
  del: (path, options = {}) => request("DELETE", path, options),
  upload: (path, form, params, options = {}) => request("POST", path, { ...options, form, params }),
};

export const DEFAULT_PAGE_SIZE = 25;

/** One page of a list endpoint: {items, total, page, pageSize, pages, ...rest of the body}. */
export async function getPage(path, params = {}, page = 1, pageSize = DEFAULT_PAGE_SIZE) {
  const body = await api.get(path, { ...params, page, page_size: pageSize });
  const size = body.page_size || pageSize;
  return {
    ...body,
    items: body.items || [],
    total: body.total ?? 0,
    page: body.page || page,
    pageSize: size,
    pages: Math.max(1, Math.ceil((body.total ?? 0) / size)),
  };
}

/** Every item of a list (for small lists such as districts); stops after `limit` items. */
export async function getAll(path, params = {}, limit = 1000) {
  const items = [];
  for (let page = 1; ; page += 1) {
    const body = await getPage(path, params, page, 200);
    items.push(...body.items);
    if (page >= body.pages || items.length >= limit) return items;
  }
}
