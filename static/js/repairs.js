// The receive/ship-by-scan page: online each scan goes to the server (htmx); without a signal it is recorded in
// the outbox as a `claim.receive` or `claim.ship` event and sent when the connection is back. After each answer the
// field empties and keeps the cursor for the next scan (keyboard-wedge scanners type and press Enter).

import { enqueue, onOutboxChange } from "./outbox.js";

/** @param {HTMLFormElement} form */
function codeField(form) {
  return /** @type {HTMLInputElement} */ (form.querySelector('input[name="code"]'));
}

/** @param {HTMLFormElement} form */
function chosenAction(form) {
  const checked = /** @type {HTMLInputElement | null} */ (form.querySelector('input[name="action"]:checked'));
  return checked && checked.value === "ship" ? "ship" : "receive";
}

/** @param {HTMLFormElement} form */
function readyForNextScan(form) {
  const field = codeField(form);
  field.value = "";
  field.focus();
}

/**
 * Show a line in the result area (text only, never markup).
 * @param {string} text
 * @param {"ok" | "error" | "pending"} tone
 */
function say(text, tone) {
  const box = document.getElementById("receive-result");
  if (!box) return;
  const line = document.createElement("p");
  line.className = tone === "error" ? "error" : tone === "ok" ? "flash" : "notice";
  line.dataset.tone = tone;
  line.textContent = text;
  box.replaceChildren(line);
}

/**
 * Record the scan in the outbox for later: the server applies it exactly once when it arrives.
 * @param {HTMLFormElement} form
 */
async function recordOffline(form) {
  const code = codeField(form).value.trim();
  if (!code) return;
  const action = chosenAction(form);
  await enqueue(`claim.${action}`, { tag: code });
  say(`${code}: recorded without a signal; it will be sent when you are back online.`, "pending");
  readyForNextScan(form);
}

/** Tell the person what the server said about scans sent from the outbox. */
function listenForResults() {
  onOutboxChange((message) => {
    if (message.type !== "results") return;
    for (const result of message.results) {
      const info = result.info || {};
      if (result.status === "rejected" && result.reason) say(result.reason, "error");
      else if (result.status === "retry") say("The server could not take a scan yet; it will be tried again.", "pending");
      else if (info.asset_tag) say(`${info.asset_tag}: ${info.status} (sent from the outbox).`, "ok");
    }
  });
}

/** Wire the form once the page has loaded. */
function wireReceiveForm() {
  const form = /** @type {HTMLFormElement | null} */ (document.querySelector("[data-receive-form]"));
  if (!form) return;
  form.addEventListener("htmx:beforeRequest", (event) => {
    if (navigator.onLine) return;
    event.preventDefault();
    recordOffline(form);
  });
  form.addEventListener("htmx:sendError", () => recordOffline(form));
  document.body.addEventListener("htmx:afterSwap", (event) => {
    const target = /** @type {CustomEvent} */ (event).detail?.target;
    if (target && target.id === "receive-result") readyForNextScan(form);
  });
  listenForResults();
  // The phone camera reads tags and serial barcodes into the same field, as a wedge scanner would.
  if (document.querySelector("[data-camera]")) import("./camera.js").then((camera) => camera.mountCameras());
}

wireReceiveForm();
