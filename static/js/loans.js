// The loaner desk: the cursor always goes back to the scan field, so a keyboard-wedge scanner (which types
// the code and presses Enter) can work the desk without anyone touching the mouse. With no signal the desk keeps
// working: each scan is decided by the same rules as the server's from the desk pack, checkouts and check-ins go
// into the outbox as loan.checkout / loan.checkin events, and what the server refuses later is said here loudly.

import { enqueue, MAX_REJECTED, onOutboxChange, rejectedList, waiting } from "./outbox.js";
import { renderRejected } from "./rejected.js";
import { getMeta, setMeta } from "./store.js";
import { findAsset } from "./pack.js";
import { decideScan, findPerson, loadRules, withPending } from "./desk.js";
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
// With no signal the desk decides each scan itself, with the same rule table as the server (desk.js), from the
// desk pack: the campus's devices, its open loans as last seen (plus this phone's unsent ones) and the people
// the desk may look up. What the server later refuses is said loudly here, with the student's name.

/** @returns {HTMLFormElement | null} */
function deskForm() {
  return /** @type {HTMLFormElement | null} */ (document.getElementById("desk-form"));
}

function packKey() {
  const form = deskForm();
  return form ? `desk-pack:${form.dataset.campus}` : "";
}

/** Fetch the desk pack when it changed (If-None-Match) and keep it on this device. */
async function refreshPack() {
  const form = deskForm();
  if (!form || !navigator.onLine) return;
  const key = packKey();
  const cached = await getMeta(key).catch(() => null);
  try {
    const response = await fetch(/** @type {string} */ (form.dataset.packUrl), {
      credentials: "same-origin",
      cache: "no-store",
      headers: cached && cached.etag ? { "If-None-Match": cached.etag } : {},
    });
    if (response.status === 304 || !response.ok) return;
    const pack = await response.json();
    await setMeta(key, { etag: response.headers.get("ETag"), fetched_at: new Date().toISOString(), pack });
    form.dataset.packReady = "1";
  } catch {
    // No signal right now: the copy from last time stays.
  }
}

/** @returns {Promise<import("./desk.js").DeskPack>} */
async function cachedPack() {
  const form = deskForm();
  const cached = form ? await getMeta(packKey()).catch(() => null) : null;
  return (cached && cached.pack) || { campus: form ? form.dataset.campus || "" : "", devices: [], loans: [], people: [] };
}

/** This user's desk events not yet sent, oldest first. */
async function pendingDesk() {
  const user = await getMeta("user").catch(() => "");
  return (await waiting(user || null).catch(() => [])).filter((e) => LOAN_TYPES.has(e.type));
}

/**
 * The panel's content, built from text only (never HTML from input).
 * @param {"info" | "error" | "done" | "alert"} kind
 * @param {string[]} lines
 * @param {import("./desk.js").DeskPerson[]} [picks]
 */
function showPanel(kind, lines, picks = []) {
  const panel = document.getElementById("desk-panel");
  if (!panel) return null;
  const person = /** @type {HTMLInputElement | null} */ (document.getElementById("desk-person"));
  const keep = person ? person.value : "";
  panel.replaceChildren();
  panel.className = `desk-panel${kind === "info" ? "" : ` is-${kind}`}`;
  const hidden = document.createElement("input");
  hidden.type = "hidden";
  hidden.name = "person";
  hidden.id = "desk-person";
  hidden.value = keep;
  panel.append(hidden);
  const box = kind === "alert" ? document.createElement("div") : panel;
  if (kind === "alert") {
    box.className = "desk-alert";
    box.id = "desk-alert";
    box.setAttribute("role", "alert");
    panel.append(box);
  }
  lines.forEach((line, i) => {
    const p = document.createElement("p");
    p.textContent = line;
    if (kind === "error") {
      p.className = "error";
      p.setAttribute("role", "alert");
      if (i === 0) p.id = "desk-error";
    } else if (kind === "done") {
      p.className = "done";
      p.setAttribute("role", "status");
    } else if (kind === "alert" && i === 0) {
      const strong = document.createElement("strong");
      strong.textContent = line;
      p.replaceChildren(strong);
    }
    box.append(p);
  });
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
  return panel;
}

/** @param {string} id */
function setSelected(id) {
  const person = /** @type {HTMLInputElement | null} */ (document.getElementById("desk-person"));
  if (person) person.value = id;
}

const SAVED = "Saved on this phone — sends when online.";

// A short, loud two-tone beep (Web Audio: no sound file to fetch). Browsers let a page make sound only after a
// key press or a tap, which a desk always has had by the time the server refuses something.
/** @type {AudioContext | null} */
let audio = null;
function unlockAudio() {
  if (audio || typeof AudioContext === "undefined") return;
  try {
    audio = new AudioContext();
  } catch {
    audio = null;
  }
}

/** @param {HTMLElement | null} where marked data-sound once the beep is played (or could not be) */
function beep(where) {
  if (where) where.dataset.sound = "played";
  if (!audio) return;
  audio.resume().catch(() => {});
  const start = audio.currentTime;
  for (const [offset, pitch] of [[0, 880], [0.18, 660]]) {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.type = "square";
    tone.frequency.value = pitch;
    gain.gain.setValueAtTime(0.2, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.001, start + offset + 0.16);
    tone.connect(gain).connect(audio.destination);
    tone.start(start + offset);
    tone.stop(start + offset + 0.17);
  }
}

/**
 * A device reported missing, scanned at the desk: the loud alert, and Mark found for those who may.
 * @param {string} message
 * @param {string} tag the device's tag code
 */
function showFound(message, tag) {
  const form = deskForm();
  const panel = showPanel("alert", [message, "It cannot be lent while it is marked missing."]);
  const box = document.getElementById("desk-alert");
  if (box && form && form.dataset.markFound === "1" && tag) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "primary";
    button.dataset.markFound = tag;
    button.textContent = "Mark found";
    box.append(button);
  }
  beep(panel);
}

/**
 * Do at the desk, without the server, what one scan means, by the desk's rules.
 * @param {{code: string, pick: string, due: string, condition: string, note: string}} entry
 */
async function actOffline(entry) {
  const form = deskForm();
  const person = /** @type {HTMLInputElement | null} */ (document.getElementById("desk-person"));
  const [rules, pack, pending] = await Promise.all([
    loadRules(form ? form.dataset.rulesUrl : undefined),
    cachedPack(),
    pendingDesk(),
  ]);
  const code = (entry.pick || entry.code).trim();
  // A device of another campus is known only from a kept offline pack (the scan page's), if at all.
  const elsewhere = code ? await findAsset(code).catch(() => undefined) : undefined;
  const outcome = decideScan(rules, withPending(pack, pending), {
    code,
    picked: Boolean(entry.pick),
    selected: person ? person.value : "",
  }, elsewhere && elsewhere.campus !== pack.campus ? elsewhere : undefined);
  const who = outcome.person;
  switch (outcome.kind) {
    case "pick":
    case "switch":
      if (!who) break;
      setSelected(who.id);
      return showPanel(outcome.kind === "switch" ? "done" : "info", [`${who.name} ${who.id}`, outcome.message]);
    case "ask":
      return showPanel("info", [outcome.message], outcome.matches);
    case "found":
      return showFound(outcome.message, outcome.device ? outcome.device.tag_code : "");
    case "lend": {
      const device = /** @type {import("./desk.js").DeskDevice} */ (outcome.device);
      /** @type {Record<string, string>} */
      const data = { asset: device.asset_tag, person: outcome.selected ? outcome.selected.id : "" };
      if (entry.due) data.due = entry.due;
      await enqueue("loan.checkout", data);
      setSelected("");
      showPanel("done", [`${outcome.message} ${SAVED}`]);
      return afterRecord();
    }
    case "return": {
      const device = /** @type {import("./desk.js").DeskDevice} */ (outcome.device);
      /** @type {Record<string, string>} */
      const data = { asset: device.asset_tag, condition: entry.condition || "good" };
      if (entry.note) data.note = entry.note;
      await enqueue("loan.checkin", data);
      showPanel("done", [`${outcome.facts.loan_name} returned ${device.asset_tag} (${data.condition}). ${SAVED}`]);
      return afterRecord();
    }
    default:
      break;
  }
  return showPanel("error", [outcome.message]);
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

/**
 * What a desk event was, in the desk's words, with the student's name from the pack.
 * @param {{type: string, data: Record<string, any>}} event
 * @param {import("./desk.js").DeskPack} pack
 */
function describe(event, pack) {
  if (event.type !== "loan.checkout") {
    return `Return ${event.data.asset}${event.data.condition ? ` (${event.data.condition})` : ""}`;
  }
  const who = findPerson(pack.people || [], String(event.data.person || ""));
  return `Lend ${event.data.asset} to ${who ? `${who.name} (${who.id})` : event.data.person}`;
}

/**
 * What to do about a refused desk event, said to the person at the desk.
 * @param {{type: string, data: Record<string, any>}} event
 * @param {import("./desk.js").DeskPack} pack
 */
function nextStep(event, pack) {
  if (event.type === "loan.checkout") {
    const who = findPerson(pack.people || [], String(event.data.person || ""));
    const name = who ? who.name : String(event.data.person);
    return { title: `Not lent: ${event.data.asset} to ${name}`, todo: `Take the loaner back from ${name} and lend another.` };
  }
  return {
    title: `Not returned: ${event.data.asset}`,
    todo: `Keep ${event.data.asset} at the desk and check who has it on the out-now list.`,
  };
}

/** Refused desk events this page has already announced (so each is said loudly once). */
const ALERTED_KEY = "desk-alerted";

/**
 * Say loudly on the panel that the server refused desk events: who, which device, why, what to do; and beep.
 * The green "saved" message that stood there goes.
 * @param {import("./store.js").RejectedEvent[]} items newest first
 */
async function announceRefusals(items) {
  if (!items.length) return;
  const pack = await cachedPack();
  const lines = [];
  for (const item of items) {
    const { title, todo } = nextStep(item, pack);
    lines.push(title, item.reason || "Refused.", todo);
  }
  const panel = showPanel("alert", lines);
  const box = document.getElementById("desk-alert");
  if (box) box.classList.add("desk-refused");
  beep(panel);
  const seen = new Set((await getMeta(ALERTED_KEY).catch(() => null)) || []);
  for (const item of items) seen.add(item.id);
  await setMeta(ALERTED_KEY, [...seen].slice(-MAX_REJECTED)).catch(() => {});
}

/** Refused desk events not yet announced on this phone (after a flush by another tab or the worker, say). */
async function unannouncedRefusals() {
  const seen = new Set((await getMeta(ALERTED_KEY).catch(() => null)) || []);
  return (await rejectedList().catch(() => [])).filter((e) => LOAN_TYPES.has(e.type) && !seen.has(e.id));
}

/** Events of the desk still on this device, and the ones the server refused, each with what it was. */
async function showOfflineWork() {
  const section = document.getElementById("desk-offline");
  const list = document.getElementById("desk-offline-list");
  if (!section || !list) return;
  const pack = await cachedPack();
  const pending = await pendingDesk();
  const refused = await renderRejected(list, {
    only: (e) => LOAN_TYPES.has(e.type),
    describe: (e) => ({ title: describe(e, pack) }),
    className: "offline-event",
    reasonPrefix: "— not recorded: ",
    onDismiss: () => { showOfflineWork(); refocus(); },
  });
  for (const event of pending) {
    const li = document.createElement("li");
    li.className = "offline-event";
    li.textContent = `${describe(event, pack)} — saved on this phone, sends when online`;
    list.append(li);
  }
  section.hidden = !(pending.length || refused);
  section.classList.toggle("has-refused", Boolean(refused));
  const heading = section.querySelector("h2");
  if (heading) heading.textContent = refused ? "Refused when it was sent" : "Saved on this phone";
}

/** Mark found, from the missing-device alert: an outbox event, sent now or when the signal returns. */
function wireMarkFound() {
  document.addEventListener("click", async (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest("[data-mark-found]");
    if (!(button instanceof HTMLButtonElement)) return;
    button.disabled = true;
    await enqueue("asset.mark_found", { tag: button.dataset.markFound });
    const note = document.createElement("p");
    note.className = "done";
    note.setAttribute("role", "status");
    note.textContent = navigator.onLine ? "Marking it found…" : `Marked found. ${SAVED}`;
    button.replaceWith(note);
    refreshBadge();
    refocus();
  });
}

function wireOffline() {
  const form = deskForm();
  if (!form) return;
  loadRules(form.dataset.rulesUrl).catch(() => {});
  document.addEventListener("keydown", unlockAudio, { capture: true });
  document.addEventListener("pointerdown", unlockAudio, { capture: true });
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
  // The server's alert about a missing device is loud too.
  document.body.addEventListener("htmx:afterSettle", () => {
    const panel = document.getElementById("desk-panel");
    if (panel && document.getElementById("desk-alert") && !panel.dataset.sound) beep(panel);
  });
  document.body.addEventListener("loans-changed", () => { refreshPack(); });
  onOutboxChange(async (message) => {
    if (message.type === "results") {
      if (message.results.some((r) => r.status === "applied" || r.status === "duplicate")) {
        // Applied events changed the lists: refresh the "out now" list and the pack from the server.
        document.body.dispatchEvent(new CustomEvent("loans-changed"));
      }
      const refused = new Set(message.results.filter((r) => r.status === "rejected").map((r) => r.id));
      if (refused.size) {
        const items = (await rejectedList().catch(() => [])).filter((e) => refused.has(e.id) && LOAN_TYPES.has(e.type));
        await announceRefusals(items);
      }
    }
    showOfflineWork();
  });
  window.addEventListener("online", () => { refreshPack(); showOfflineWork(); });
  refreshPack();
  showOfflineWork();
  unannouncedRefusals().then(announceRefusals).catch(() => {});
}

function boot() {
  wireFocus();
  wirePrint();
  wireCampusSwitch();
  wireOffline();
  wireMarkFound();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", boot);
} else {
  boot();
}
