// Sign in: OAuth2 password form to POST /api/v1/auth/token; the token goes to sessionStorage.
import { clearToken, request, setToken, takeReturnPage } from "./api.js";
import { act, say } from "./ui.js";

const form = document.getElementById("signin-form");
const status = document.getElementById("status");
const params = new URLSearchParams(location.search);
if (params.has("signed-out")) {
  clearToken();
  say(status, "You are signed out.", "ok");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = new URLSearchParams({ username: form.username.value.trim(), password: form.password.value });
  const token = await act({
    button: document.getElementById("signin-submit"),
    status,
    busy: "Signing in",
    done: "Signed in.",
    action: () => request("POST", "/api/v1/auth/token", { form: body, auth: false }),
  });
  form.password.value = "";
  if (token && token.access_token) {
    setToken(token.access_token);
    location.assign(takeReturnPage());
  } else {
    form.password.focus();
  }
});
