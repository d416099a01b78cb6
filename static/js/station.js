// Deployment and collection stations. The cursor goes back to the scan field after every answer, so a keyboard-wedge
// scanner works the station hands-free. The deployment station takes a signature drawn on a canvas (sent as a PNG
// data URL). The collection station records every return as a `collect.return` event in the outbox, online or not,
// so each is applied exactly once; what the server refused (another station returned the device first) is said
// loudly on this screen.

import { enqueue, onOutboxChange, waiting } from "./outbox.js";
import { renderRejected } from "./rejected.js";
import { getMeta } from "./store.js";
import { signalScan } from "./signal.js";
import { flushSoon, refreshBadge } from "./app.js";

const COLLECT = "collect.return";
const STATION_KEY = "rollcall-station-name";

/** @returns {HTMLInputElement | null} */
function scanField() {
  return document.querySelector("[data-scan-field]");
}

/** Back to the scan field, unless someone is typing in another field. */
function refocus() {
  const field = scanField();
  if (!field) return;
  const active = document.activeElement;
  const typing = active && active !== field && active.matches("input:not([type=checkbox]):not([type=radio]), textarea, select");
  if (!typing) field.focus({ preventScroll: true });
}

function wireCommon() {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    if (select instanceof HTMLSelectElement && select.form) {
      select.addEventListener("change", () => select.form?.submit());
    }
  }
  // The station's name stays on this device, so a table keeps being "Gym 1" all day.
  for (const input of document.querySelectorAll("[data-station-name]")) {
    if (!(input instanceof HTMLInputElement)) continue;
    if (!input.value) input.value = localStorage.getItem(STATION_KEY) || "";
    input.addEventListener("change", () => localStorage.setItem(STATION_KEY, input.value.trim()));
  }
  const form = document.querySelector("[data-station-form], [data-collect-form]");
  const field = scanField();
  if (form && field) {
    form.addEventListener("htmx:configRequest", () => setTimeout(() => { field.value = ""; }, 0));
    document.body.addEventListener("htmx:afterSettle", () => { wireSignature(); refocus(); });
  }
}

// The signature box ------------------------------------------------------------------------------------------

function wireSignature() {
  const canvas = /** @type {HTMLCanvasElement | null} */ (document.querySelector("canvas[data-signature]"));
  if (!canvas || canvas.dataset.wired) return;
  canvas.dataset.wired = "1";
  const ctx = canvas.getContext("2d");
  const value = /** @type {HTMLInputElement | null} */ (document.querySelector("[data-signature-value]"));
  if (!ctx || !value) return;
  ctx.lineWidth = 4;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = "#111827";
  /** @type {{x: number, y: number} | null} */
  let last = null;
  /** @param {PointerEvent} event */
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return { x: ((event.clientX - box.left) * canvas.width) / box.width, y: ((event.clientY - box.top) * canvas.height) / box.height };
  };
  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
    ctx.beginPath();
    ctx.arc(last.x, last.y, 1, 0, 2 * Math.PI);
    ctx.stroke();
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!last) return;
    const next = point(event);
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(next.x, next.y);
    ctx.stroke();
    last = next;
    event.preventDefault();
  });
  const finish = () => {
    if (!last) return;
    last = null;
    value.value = canvas.toDataURL("image/png");
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  const clear = document.querySelector("[data-signature-clear]");
  if (clear) {
    clear.addEventListener("click", () => {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      value.value = "";
    });
  }
}

// The collection station ---------------------------------------------------------------------------------------

/** @returns {HTMLFormElement | null} */
function collectForm() {
  return document.querySelector("form[data-collect-form]");
}

function stationName() {
  const input = /** @type {HTMLInputElement | null} */ (document.querySelector("[data-station-name]"));
  return input ? input.value.trim() : "";
}

/**
 * Put the return form a device gets with no signal in the panel (every kind listed, the device's code filled in).
 * @param {string} code
 */
function showOfflinePanel(code) {
  const template = /** @type {HTMLTemplateElement | null} */ (document.getElementById("collect-offline"));
  const panel = document.getElementById("collect-panel");
  if (!template || !panel || !code) return;
  const fresh = /** @type {DocumentFragment} */ (template.content.cloneNode(true));
  const tag = fresh.querySelector("[data-offline-tag]");
  if (tag) tag.textContent = code;
  const form = fresh.querySelector("[data-collect-return]");
  if (form instanceof HTMLElement) form.dataset.asset = code;
  const submit = fresh.querySelector("#collect-submit");
  if (submit) submit.textContent = `Record return of ${code}`;
  panel.replaceWith(fresh);
}

/**
 * @param {"info" | "error" | "done"} kind
 * @param {string} text
 */
function showMessage(kind, text) {
  const panel = document.getElementById("collect-panel");
  if (!panel) return;
  const section = document.createElement("section");
  section.id = "collect-panel";
  section.className = `desk-panel${kind === "info" ? "" : ` is-${kind}`}`;
  section.setAttribute("aria-live", "polite");
  const p = document.createElement("p");
  p.textContent = text;
  if (kind === "error") {
    p.className = "error";
    p.id = "collect-error";
    p.setAttribute("role", "alert");
  } else if (kind === "done") {
    p.className = "done";
    p.setAttribute("role", "status");
  }
  section.append(p);
  panel.replaceWith(section);
}

/** @param {HTMLFormElement} form */
function returnData(form) {
  const fields = new FormData(form);
  /** @type {Record<string, any>} */
  const data = {
    asset: form.dataset.asset || "",
    accessories: fields.getAll("accessory").map(String),
    condition: String(fields.get("condition") || "good"),
    hold: fields.get("hold") === "1",
  };
  const note = String(fields.get("note") || "").trim();
  if (note) data.note = note;
  const person = String(fields.get("person") || "").trim();
  if (person) data.person = person;
  const station = stationName();
  if (station) data.station = station;
  return data;
}

/** @param {{data: Record<string, any>}} event */
function describe(event) {
  const missing = (event.data.accessories || []).length ? ` with ${event.data.accessories.join(", ")}` : "";
  return `${event.data.asset}${missing}${event.data.hold ? " (held for next year)" : ""}`;
}

/**
 * One line of the station's log for an event: saved, returned (with its receipt) or refused.
 * @param {string} id
 * @param {string} text
 * @param {"saved" | "done" | "refused"} state
 * @param {string} [href]
 */
function logLine(id, text, state, href) {
  const list = document.getElementById("collect-log-list");
  if (!list) return;
  let li = /** @type {HTMLElement | null} */ (list.querySelector(`[data-event="${CSS.escape(id)}"]`));
  if (!li) {
    li = document.createElement("li");
    li.dataset.event = id;
    list.prepend(li);
  }
  li.className = `collect-${state}`;
  li.textContent = text;
  if (href) {
    const link = document.createElement("a");
    link.href = href;
    link.textContent = "Receipt and fees";
    li.append(" ", link);
  }
}

/** @param {import("./outbox.js").SyncResult} result */
function settleResult(result) {
  const list = document.getElementById("collect-log-list");
  if (!list || !list.querySelector(`[data-event="${CSS.escape(result.id)}"]`)) return false;
  const info = result.info || {};
  if (result.status === "applied") {
    const from = info.person ? ` from ${info.person}` : "";
    const missing = (info.missing || []).length ? ` Missing: ${info.missing.join(", ")}.` : "";
    const held = info.held ? " Held for next year." : "";
    logLine(result.id, `Returned ${info.asset_tag}${from}.${missing}${held}`, "done", `/deployment/collections/${info.collection}`);
    return true;
  }
  if (result.status === "rejected") {
    logLine(result.id, `Not recorded: ${result.reason || "refused"}`, "refused");
    showMessage("error", result.reason || "The server refused this return.");
    signalScan(false);
  }
  return true;
}

/** Returns still on this device, and the refused ones (kept until dismissed), after a reload. */
async function showKept() {
  const list = document.getElementById("collect-log-list");
  if (!list) return;
  const user = await getMeta("user").catch(() => "");
  const pending = (await waiting(user || null).catch(() => [])).filter((e) => e.type === COLLECT);
  const refused = document.createElement("ul");
  await renderRejected(refused, {
    only: (e) => e.type === COLLECT,
    describe: (e) => ({ title: `Not recorded: ${describe(e)}` }),
    className: "collect-refused",
    reasonPrefix: " — ",
  });
  for (const event of pending) {
    if (!list.querySelector(`[data-event="${CSS.escape(event.id)}"]`)) {
      logLine(event.id, `${describe(event)} — saved on this phone, sends when online`, "saved");
    }
  }
  for (const li of [...refused.children]) {
    if (li instanceof HTMLElement && !list.querySelector(`[data-event="${CSS.escape(li.dataset.event || "")}"]`)) list.append(li);
  }
}

function wireCollect() {
  const form = collectForm();
  if (!form) return;
  // No signal: the station answers itself, before htmx tries the network.
  // Online but the request never arrives (the signal dropped): the same, with the code that was sent.
  let lastCode = "";
  document.addEventListener(
    "submit",
    (event) => {
      if (event.target !== form) return;
      const field = scanField();
      lastCode = field ? field.value.trim() : "";
      if (navigator.onLine) return;
      event.preventDefault();
      event.stopPropagation();
      if (field) field.value = "";
      showOfflinePanel(lastCode);
      refocus();
    },
    true,
  );
  form.addEventListener("htmx:sendError", () => showOfflinePanel(lastCode));
  document.addEventListener("click", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (target.closest("[data-collect-cancel]")) {
      showMessage("info", "Ready. Scan a device.");
      refocus();
    }
  });
  document.addEventListener("submit", async (event) => {
    const target = event.target;
    if (!(target instanceof HTMLFormElement) || !target.matches("[data-collect-return]")) return;
    event.preventDefault();
    const data = returnData(target);
    const saved = await enqueue(COLLECT, data);
    logLine(saved.id, `${describe(saved)} — ${navigator.onLine ? "sending…" : "saved on this phone, sends when online"}`, "saved");
    showMessage("done", `${data.asset} recorded.${navigator.onLine ? "" : " Saved on this phone — sends when online."}`);
    signalScan(true);
    refreshBadge();
    flushSoon();
    refocus();
  });
  onOutboxChange((message) => {
    if (message.type === "results") for (const result of message.results) settleResult(result);
  });
  showKept();
}

function boot() {
  wireCommon();
  wireSignature();
  wireCollect();
  refocus();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", boot);
} else {
  boot();
}
