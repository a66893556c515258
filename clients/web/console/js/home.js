// Home: one card per page the signed-in role may use (the same list as the navigation).
import { NAV, startPage } from "./layout.js";
import { el, fill } from "./ui.js";

const ctx = await startPage();
if (ctx) {
  const entries = NAV.filter((entry) => entry.page !== "index.html" && (!entry.cap || ctx.can[entry.cap]));
  fill(
    document.getElementById("cards"),
    entries.map((entry) =>
      el("a", { class: "card", href: entry.page }, el("strong", {}, entry.label), el("span", {}, entry.description || "")),
    ),
  );
}
