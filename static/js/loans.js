// The loaner desk: the cursor always goes back to the scan field, so a keyboard-wedge scanner (which types
// the code and presses Enter) can work the desk without anyone touching the mouse. With no signal the desk keeps
// working: people come from a cached list (names and IDs only), checkouts and check-ins go into the outbox as
// loan.checkout / loan.checkin events, and what the server refuses later comes back here with its reason.

import { enqueue, onOutboxChange, waiting } from "./outbox.js";
import { renderRejected } from "./rejected.js";
import { getMeta, setMeta } from "./store.js";
import { flushSoon, refreshBadge } from "./app.js";

const LOAN_TYPES = new Set(["loan.checkout", "loan.checkin"]);

/** @returns {HTMLFormElement | null} */
function scanForm() {
  return document.querySelector("form[data-scan-form]");
}

/** @returns {HTMLInputElement | null} */
function scanField() {
  return document.querySelector("[data-scan-field]");
}

/** Put the cursor back in the scan field (unless the user is busy in another field). */
function refocus() {
  const field = scanField();
  if (!field) return;
  const active = document.activeElement;
  const busyElsewhere = active && active !== field && active.matches("input, select, textarea") &&
    active.type !== "radio" && active.type !== "submit";
  if (!busyElsewhere) field.focus({ preventScroll: true });
}

/** After a check-in the return fields start over, so one "damaged" never sticks to the next device. */
function resetReturnFields() {
  const form = scanForm();
  if (!form) return;
  const good = form.querySelector('input[name="condition"][value="good"]');
  if (good instanceof HTMLInputElement) good.checked = true;
  const note = form.querySelector('input[name="note"]');
  if (note instanceof HTMLInputElement) note.value = "";
}

function wireFocus() {
  const form = scanForm();
  const field = scanField();
  if (!form || !field) return;
  field.focus();
  // htmx has read the form's values by now: empty the field at once so the next scan starts clean.
  form.addEventListener("htmx:configRequest", () => { field.value = ""; });
  document.body.addEventListener("htmx:afterSettle", refocus);
  document.body.addEventListener("loans-changed", resetReturnFields);
  // Radios and buttons keep the focus only for their click; the scanner types into the scan field. Someone on the
  // keyboard stays put: arrows walk the radios and a date is typed a part at a time (Shift+Tab leads back).
  let pointed = false;
  form.addEventListener("pointerdown", () => { pointed = true; });
  form.addEventListener("keydown", () => { pointed = false; });
  form.addEventListener("change", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (pointed && target.matches('input[type="radio"], input[type="date"]')) setTimeout(refocus, 0);
  });
  document.addEventListener("click", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (!target.closest("input, select, textarea, a, label, summary, button")) refocus();
  });
  field.addEventListener("blur", () => {
    // Focus drifting to nothing (the page body) comes straight back.
    setTimeout(() => { if (document.activeElement === document.body) refocus(); }, 0);
  });
}

function wirePrint() {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
}

function wireCampusSwitch() {
  const select = document.getElementById("desk-campus-select");
  if (select instanceof HTMLSelectElement && select.form) {
    select.addEventListener("change", () => select.form?.submit());
  }
}

// Offline ----------------------------------------------------------------------------------------------------

/** @typedef {{id: string, name: string}} CachedPerson */

/** @returns {HTMLFormElement | null} */
function deskForm() {
  return /** @type {HTMLFormElement | null} */ (document.getElementById("desk-form"));
}

/** Keep the campus's names and IDs on this device so the desk can find a student with no signal. */
async function cachePeople() {
  const form = deskForm();
  if (!form || !navigator.onLine) return;
  const key = `desk-people:${form.dataset.campus}`;
  const cached = await getMeta(key).catch(() => null);
  try {
    const response = await fetch(/** @type {string} */ (form.dataset.peopleUrl), {
      credentials: "same-origin",
      headers: cached && cached.etag ? { "If-None-Match": cached.etag } : {},
    });
    if (response.status === 304 || !response.ok) return;
    const body = await response.json();
    await setMeta(key, { etag: response.headers.get("ETag"), people: body.people });
  } catch {
    // No signal right now: the copy from last time stays.
  }
}

/** @returns {Promise<CachedPerson[]>} */
async function cachedPeople() {
  const form = deskForm();
  if (!form) return [];
  const cached = await getMeta(`desk-people:${form.dataset.campus}`).catch(() => null);
  return (cached && cached.people) || [];
}

/** The panel's content, built from text only (never HTML from input). */
function showPanel(kind, lines, picks = []) {
  const panel = document.getElementById("desk-panel");
  if (!panel) return;
  const person = /** @type {HTMLInputElement | null} */ (document.getElementById("desk-person"));
  const keep = person ? person.value : "";
  panel.replaceChildren();
  panel.className = `desk-panel${kind === "error" ? " is-error" : kind === "done" ? " is-done" : ""}`;
  const hidden = document.createElement("input");
  hidden.type = "hidden";
  hidden.name = "person";
  hidden.id = "desk-person";
  hidden.value = keep;
  panel.append(hidden);
  for (const line of lines) {
    const p = document.createElement("p");
    p.textContent = line;
    if (kind === "error") {
      p.className = "error";
      p.setAttribute("role", "alert");
      p.id = "desk-error";
    } else if (kind === "done") {
      p.className = "done";
      p.setAttribute("role", "status");
    }
    panel.append(p);
  }
  if (picks.length) {
    const list = document.createElement("ul");
    list.className = "plain-list desk-matches";
    for (const match of picks) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "submit";
      button.name = "pick";
      button.value = match.id;
      button.textContent = `${match.name} ${match.id}`;
      li.append(button);
      list.append(li);
    }
    panel.append(list);
  }
}

/** @param {string} id */
function pickPerson(id, name) {
  const person = /** @type {HTMLInputElement | null} */ (document.getElementById("desk-person"));
  if (person) person.value = id;
  showPanel("info", [`${name} ${id}`, `Now scan the loaner for ${name.split(" ")[0]}. (Offline: it is sent when the signal returns.)`]);
  const hidden = /** @type {HTMLInputElement | null} */ (document.getElementById("desk-person"));
  if (hidden) hidden.value = id;
}

/**
 * Do at the desk, without the server, what one scan means: pick a person, lend, or take back.
 * @param {{code: string, pick: string, due: string, condition: string, note: string}} entry
 */
async function actOffline(entry) {
  const people = await cachedPeople();
  const person = /** @type {HTMLInputElement | null} */ (document.getElementById("desk-person"));
  const selectedId = person ? person.value : "";
  const code = (entry.pick || entry.code).trim();
  if (!code) return showPanel("error", ["Scan or type a student ID, a name, or a device."]);
  const fold = code.toUpperCase();
  const exact = people.find((p) => p.id.toUpperCase() === fold);
  if (exact && (!selectedId || entry.pick)) return pickPerson(exact.id, exact.name);
  if (selectedId) {
    const who = people.find((p) => p.id === selectedId);
    const data = { asset: code, person: selectedId };
    if (entry.due) data.due = entry.due;
    await enqueue("loan.checkout", data);
    if (person) person.value = "";
    showPanel("done", [`Recorded offline: ${code} to ${who ? who.name : selectedId}. It is sent when the signal returns.`]);
    return afterRecord();
  }
  if (!/\d/.test(code)) {
    const needle = code.toLowerCase();
    const matches = people.filter((p) => p.name.toLowerCase().includes(needle)).slice(0, 8);
    if (matches.length === 1) return pickPerson(matches[0].id, matches[0].name);
    if (matches.length) return showPanel("info", ["Who is it?"], matches);
    return showPanel("error", [`No one here matches “${code}”.`]);
  }
  const data = { asset: code, condition: entry.condition || "good" };
  if (entry.note) data.note = entry.note;
  await enqueue("loan.checkin", data);
  showPanel("done", [`Recorded offline: ${code} returned (${data.condition}). It is sent when the signal returns.`]);
  return afterRecord();
}

async function afterRecord() {
  resetReturnFields();
  await showOfflineWork();
  refreshBadge();
  flushSoon();
}

/** @param {FormData | Object<string, any>} source */
function entryFrom(source, submitter = null) {
  const get = (name) => {
    const value = typeof source.get === "function" ? source.get(name) : source[name];
    return typeof value === "string" ? value : "";
  };
  const pick = submitter && submitter.name === "pick" ? submitter.value : get("pick");
  return { code: get("code"), pick, due: get("due"), condition: get("condition"), note: get("note") };
}

/** Events of the desk still on this device, and the ones the server refused, each with what it was. */
async function showOfflineWork() {
  const section = document.getElementById("desk-offline");
  const list = document.getElementById("desk-offline-list");
  if (!section || !list) return;
  const user = await getMeta("user").catch(() => "");
  const pending = (await waiting(user || null).catch(() => [])).filter((e) => LOAN_TYPES.has(e.type));
  const refused = await renderRejected(list, {
    only: (e) => LOAN_TYPES.has(e.type),
    describe: (e) => ({ title: describe(e) }),
    className: "offline-event",
    reasonPrefix: "— not recorded: ",
    onDismiss: () => { showOfflineWork(); refocus(); },
  });
  for (const event of pending) {
    const li = document.createElement("li");
    li.className = "offline-event";
    li.textContent = `${describe(event)} — waiting to be sent`;
    list.append(li);
  }
  section.hidden = !(pending.length || refused);
  const heading = section.querySelector("h2");
  if (heading) heading.textContent = refused ? "Refused when it was sent" : "Waiting for a connection";
}

function describe(event) {
  return event.type === "loan.checkout"
    ? `Lend ${event.data.asset} to ${event.data.person}`
    : `Return ${event.data.asset}${event.data.condition ? ` (${event.data.condition})` : ""}`;
}

function wireOffline() {
  const form = deskForm();
  if (!form) return;
  // Offline, the desk answers itself before htmx tries the network.
  document.addEventListener(
    "submit",
    (event) => {
      if (event.target !== form || navigator.onLine) return;
      event.preventDefault();
      event.stopPropagation();
      const field = scanField();
      const entry = entryFrom(new FormData(form), /** @type {any} */ (event).submitter);
      if (field) field.value = "";
      actOffline(entry).finally(refocus);
    },
    true,
  );
  // Online but the request never arrived (the signal dropped): do the same with what was sent.
  /** @type {any} */
  let lastSent = null;
  form.addEventListener("htmx:configRequest", (event) => { lastSent = entryFrom(/** @type {any} */ (event).detail.parameters); });
  form.addEventListener("htmx:sendError", () => { if (lastSent) actOffline(lastSent).finally(refocus); });
  onOutboxChange((message) => {
    if (message.type === "results" && message.results.some((r) => r.status === "applied" || r.status === "duplicate")) {
      // Applied events changed the lists: refresh the "out now" list from the server.
      document.body.dispatchEvent(new CustomEvent("loans-changed"));
    }
    showOfflineWork();
  });
  window.addEventListener("online", () => { cachePeople(); showOfflineWork(); });
  cachePeople();
  showOfflineWork();
}

function boot() {
  wireFocus();
  wirePrint();
  wireCampusSwitch();
  wireOffline();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", boot);
} else {
  boot();
}
