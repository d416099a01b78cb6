// What the scanning pages (/scan and /audits/live) say about two kinds of scan that are not ordinary devices: a
// device reported missing (a loud alert, and "Mark found" for those who may change its status) and a room's door
// tag (offer to switch room; never an unknown device). The words match app.services.found and
// app.services.sync.scan, so the alert reads the same offline, from the kept pack, as after the server answered.

import { enqueue } from "./outbox.js";

/**
 * @param {string} tag
 * @param {string | null | undefined} room
 */
export function missingText(tag, room) {
  return `${tag} was reported missing — found here${room ? ` in ${room}` : ""}`;
}

/**
 * @param {string} door
 * @param {string} room
 */
export function doorText(door, room) {
  return door === room ? `This is ${door}'s door tag — you are already in ${door}.` : `This is ${door}'s door tag — switch room?`;
}

/** Tags marked found from this page: a later scan of one (the kept pack still says missing) is not alerted again. */
const markedHere = new Set();

/**
 * A long double buzz on top of the scan's own beep: this one needs looking at.
 */
function alarm() {
  if (navigator.vibrate) navigator.vibrate([200, 100, 200, 100, 200]);
}

/**
 * @param {HTMLElement} box
 * @param {string} cls
 * @param {string} key
 */
function card(box, cls, key) {
  const old = box.querySelector(`[data-alert="${CSS.escape(key)}"]`);
  if (old) old.remove();
  const el = document.createElement("div");
  el.className = `scan-alert ${cls}`;
  el.dataset.alert = key;
  el.setAttribute("role", "alert");
  box.prepend(el);
  while (box.children.length > 5) box.lastElementChild?.remove();
  return el;
}

/**
 * @param {string} label
 * @param {() => void} onClick
 * @param {string} [cls]
 */
function button(label, onClick, cls = "") {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (cls) b.className = cls;
  b.addEventListener("click", onClick);
  return b;
}

/**
 * Take an alert away. A keyboard user on one of its buttons goes back to the scan field beside the alerts, rather
 * than to the top of the page with the button gone.
 * @param {HTMLElement} el
 */
function removeAlert(el) {
  const hadFocus = el.contains(document.activeElement);
  const area = el.parentElement && el.parentElement.parentElement;
  el.remove();
  const field = area && area.querySelector('input[type="text"]:not([disabled])');
  if (hadFocus && field instanceof HTMLElement) field.focus();
}

/**
 * @param {HTMLElement} el
 */
function dismissButton(el) {
  return button("Dismiss", () => removeAlert(el));
}

/**
 * The loud alert for a missing device scanned here. With `canMark`, a "Mark found" button records an
 * `asset.mark_found` event (sent now, or when there is a signal). Shown once per tag: calling it again for the
 * same tag (the server's answer after the pack's) replaces the card rather than adding one.
 * @param {HTMLElement} box
 * @param {{tag: string, room?: string | null, message?: string, canMark: boolean}} what
 * @returns {boolean} whether an alert is showing (false for a tag marked found from this page)
 */
export function showMissing(box, { tag, room, message, canMark }) {
  if (markedHere.has(tag)) return false;
  const fresh = !box.querySelector(`[data-alert="${CSS.escape(`missing:${tag}`)}"]`);
  const el = card(box, "alert-missing", `missing:${tag}`);
  const strong = document.createElement("strong");
  strong.textContent = message || missingText(tag, room);
  const p = document.createElement("p");
  p.className = "alert-detail";
  p.textContent = canMark
    ? "Mark it found to put its status back to what it was before it went missing."
    : "Your scan records who found it where; tell a tech or an admin, who can mark it found.";
  const actions = document.createElement("div");
  actions.className = "alert-actions";
  if (canMark) {
    actions.append(button(`Mark ${tag} found`, () => markFound(el, tag), "primary"));
  }
  actions.append(dismissButton(el));
  el.append(strong, p, actions);
  if (fresh) alarm();
  return true;
}

/**
 * @param {HTMLElement} el
 * @param {string} tag
 */
async function markFound(el, tag) {
  const event = await enqueue("asset.mark_found", { tag });
  markedHere.add(tag);
  el.dataset.event = event.id;
  el.classList.add("alert-done");
  const detail = el.querySelector(".alert-detail");
  if (detail) detail.textContent = navigator.onLine ? "Marking found…" : "Marked found on this phone; it is sent when there is a signal.";
  const mark = el.querySelector(".alert-actions .primary");
  // The button goes once pressed: its keyboard user stays on the alert, at Dismiss.
  if (mark && mark === document.activeElement) /** @type {HTMLElement | null} */ (el.querySelector(".alert-actions button:not(.primary)"))?.focus();
  mark?.remove();
}

/**
 * The server's answers to "Mark found" events, on their alerts.
 * @param {HTMLElement} box
 * @param {import("./outbox.js").SyncResult[]} results
 */
export function showMarkResults(box, results) {
  for (const result of results) {
    const el = box.querySelector(`[data-event="${CSS.escape(result.id)}"]`);
    const detail = el && el.querySelector(".alert-detail");
    if (!el || !detail) continue;
    const info = result.info || {};
    if (result.status === "rejected") {
      el.classList.remove("alert-done");
      detail.textContent = `Not marked found: ${result.reason || "refused"}`;
    } else if (result.status !== "retry") {
      detail.textContent = info.message || "Marked found.";
    }
  }
}

/**
 * The prompt for a room's door tag scanned while working in another room: switch, or carry on.
 * @param {HTMLElement} box
 * @param {{door: string, room: string, onSwitch?: () => void, note?: string}} what
 */
export function showDoor(box, { door, room, onSwitch, note }) {
  const el = card(box, "alert-door", `door:${door}`);
  const strong = document.createElement("strong");
  strong.textContent = doorText(door, room);
  el.append(strong);
  if (note) {
    const p = document.createElement("p");
    p.className = "alert-detail";
    p.textContent = note;
    el.append(p);
  }
  const actions = document.createElement("div");
  actions.className = "alert-actions";
  if (onSwitch && door !== room) {
    actions.append(button(`Switch to ${door}`, () => {
      removeAlert(el);
      onSwitch();
    }, "primary"));
    actions.append(button(`Stay in ${room}`, () => removeAlert(el)));
  } else {
    actions.append(dismissButton(el));
  }
  el.append(actions);
  return el;
}
