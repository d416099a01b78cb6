// The scan page: pick a room (or scan its tag), then scan devices with the text field. A keyboard-wedge scanner
// types the code and Enter; a person can type it. Each scan shows the device at once from the offline pack, beeps,
// vibrates, and goes into the outbox as a `scan` event. A device reported missing raises a loud alert (from the
// pack, and again from the server's answer); another room's door tag asks whether to switch room. The page says
// whether it is online, how many scans this session recorded, and which campuses are kept for working offline.
//
// Camera hook: anything that reads a code (static/js/camera.js in [data-camera]) may fill #scan-code and submit
// #scan-form, or call `submitCode(value, "camera")`, or dispatch
// `document.dispatchEvent(new CustomEvent("rollcall:code", {detail: {code, source: "camera"}}))`.

import { showToast } from "./app.js";
import { foldCode, scannedValue } from "./codes.js";
import { enqueue, onOutboxChange } from "./outbox.js";
import { showDoor, showMarkResults, showMissing } from "./found.js";
import { findAsset, findRoom, packInfo, refreshPack } from "./pack.js";
import { renderRejected } from "./rejected.js";
import { signalScan } from "./signal.js";

const ROOM_KEY = "rollcall.scan.room";
const COUNT_KEY = "rollcall.scan.count";

const roomSelect = /** @type {HTMLSelectElement} */ (document.getElementById("scan-room"));
const form = /** @type {HTMLFormElement} */ (document.getElementById("scan-form"));
const input = /** @type {HTMLInputElement} */ (document.getElementById("scan-code"));
const conditionSelect = /** @type {HTMLSelectElement} */ (document.getElementById("scan-condition"));
const noteInput = /** @type {HTMLInputElement} */ (document.getElementById("scan-note"));
const log = /** @type {HTMLOListElement} */ (document.getElementById("scan-log"));
const logEmpty = document.getElementById("scan-log-empty");
const alerts = /** @type {HTMLElement} */ (document.getElementById("scan-alerts"));
const canMarkFound = document.getElementById("scan-box")?.dataset.canMarkFound === "1";

/**
 * The room option whose code or sticker tag the text names, if the page lists it.
 * @param {string} text
 */
function roomOption(text) {
  const raw = scannedValue(text);
  const folded = foldCode(raw);
  return [...roomSelect.options].find(
    (o) => o.value && (o.value === raw.toUpperCase() || (o.dataset.tag && o.dataset.tag === folded)),
  );
}

/** @param {string} code */
function chooseRoom(code) {
  roomSelect.value = code;
  localStorage.setItem(ROOM_KEY, code);
}

/**
 * Make a room the one scans go to, adding it to the list when only the pack (or the server) knew it.
 * @param {string} code
 * @param {string} [label]
 */
function switchRoom(code, label) {
  if (![...roomSelect.options].some((o) => o.value === code)) roomSelect.add(new Option(label || code, code));
  chooseRoom(code);
  addLine({ title: code, detail: "Room chosen; scan its devices now.", state: "", tone: "room" });
  input.focus();
}

/** Scans recorded in this tab since it was opened (kept across reloads, not across tabs). */
function sessionCount() {
  return Number(sessionStorage.getItem(COUNT_KEY) || "0");
}

function showCount() {
  const n = sessionCount();
  const el = document.getElementById("scan-count");
  if (el) el.textContent = `${n} scan${n === 1 ? "" : "s"} this session`;
}

function countScan() {
  sessionStorage.setItem(COUNT_KEY, String(sessionCount() + 1));
  showCount();
}

/** Online or offline, in words the aide can act on. */
function showNet() {
  const el = document.getElementById("scan-net");
  if (!el) return;
  const online = navigator.onLine;
  el.dataset.state = online ? "online" : "offline";
  el.textContent = online ? "Online" : "Offline — scans are kept on this phone and sent when there is a signal";
}

/**
 * One line in the session log; its state follows the server's answer for the event.
 * @param {{title: string, detail: string, state: string, eventId?: string, tone?: string}} line
 */
function addLine({ title, detail, state, eventId, tone }) {
  const li = document.createElement("li");
  li.className = `scan-line ${tone || ""}`;
  if (eventId) li.dataset.event = eventId;
  const strong = document.createElement("strong");
  strong.textContent = title;
  const span = document.createElement("span");
  span.className = "detail";
  span.textContent = detail;
  const status = document.createElement("span");
  status.className = "state";
  status.textContent = state;
  li.append(strong, " ", span, " ", status);
  log.prepend(li);
  if (logEmpty) logEmpty.hidden = true;
  while (log.children.length > 100) log.lastElementChild?.remove();
  return li;
}

/**
 * Record a scanned or typed value: a room's tag switches the room; anything else is a device seen in the room.
 * Resolves to whether it was good (a room, or a device the pack knows or cannot judge). It beeps and vibrates
 * with that answer unless `signal` is false: the camera signals its own scans, so each scan signals once.
 * @param {string} value
 * @param {string} [source]
 * @param {boolean} [signal]
 * @returns {Promise<boolean>}
 */
export async function submitCode(value, source = "field", signal = true) {
  const ok = await record(value, source);
  if (ok !== null && signal) signalScan(ok);
  return Boolean(ok);
}

/**
 * @param {string} value
 * @param {string} source
 * @returns {Promise<boolean | null>} null when there was nothing to record
 */
async function record(value, source) {
  const text = (value || "").trim();
  if (!text) return null;
  const option = roomOption(text);
  const packRoom = option ? null : await findRoom(text).catch(() => undefined);
  if (option || packRoom) {
    const code = option ? option.value : /** @type {import("./pack.js").PackRoom} */ (packRoom).code;
    const label = packRoom ? `${packRoom.code} ${packRoom.name}` : code;
    // A door tag picks the room when none is chosen; in another room it asks first (a stray scan of the next
    // room's door must not move every scan after it).
    if (!roomSelect.value) switchRoom(code, label);
    else showDoor(alerts, { door: code, room: roomSelect.value, onSwitch: () => switchRoom(code, label) });
    return true;
  }
  const room = roomSelect.value;
  if (!room) {
    showToast("Pick a room first (or scan the room's tag).");
    roomSelect.focus();
    return false;
  }
  /** @type {Record<string, string>} */
  const data = { tag: text, room };
  if (conditionSelect && conditionSelect.value) data.condition = conditionSelect.value;
  if (noteInput && noteInput.value.trim()) data.note = noteInput.value.trim();
  const event = await enqueue("scan", data);
  countScan();
  const asset = await findAsset(text).catch(() => undefined);
  const roomCampus = roomSelect.selectedOptions[0]?.dataset.campus;
  const packKept = roomCampus ? await packInfo(roomCampus).catch(() => undefined) : undefined;
  if (asset) {
    const here = asset.home_room === room ? "home room" : asset.home_room ? `belongs in ${asset.home_room}` : "";
    const detail = [asset.model, asset.status.replace("_", " "), here].filter(Boolean).join(" · ");
    const missing = asset.status === "missing";
    addLine({ title: asset.asset_tag, detail, state: "recorded", eventId: event.id, tone: missing ? "missing" : "" });
    if (missing) showMissing(alerts, { tag: asset.asset_tag, room, canMark: canMarkFound });
  } else if (packKept) {
    addLine({ title: text, detail: "Unknown tag, recorded for review.", state: "recorded", eventId: event.id, tone: "unknown" });
  } else {
    addLine({ title: text, detail: "Recorded; the device is named when this is sent.", state: "recorded", eventId: event.id });
  }
  input.dispatchEvent(new CustomEvent("rollcall:scanned", { bubbles: true, detail: { event, asset, source } }));
  return Boolean(asset) || !packKept;
}

/**
 * Show the server's answer on the line of each event.
 * @param {import("./outbox.js").SyncResult[]} results
 */
function showResults(results) {
  for (const result of results) {
    const li = log.querySelector(`[data-event="${CSS.escape(result.id)}"]`);
    if (!li) continue;
    const state = li.querySelector(".state");
    const detail = li.querySelector(".detail");
    const info = result.info || {};
    if (result.status === "rejected") {
      li.classList.add("rejected");
      if (state) state.textContent = `not accepted: ${result.reason || ""}`;
      continue;
    }
    if (result.status === "retry") {
      if (state) state.textContent = "the server could not take it yet; trying again later";
      continue;
    }
    if (state) state.textContent = "sent";
    if (info.door) {
      showDoorAnswer(li, info);
      continue;
    }
    if (info.unknown && detail) detail.textContent = "Unknown tag, recorded for review.";
    if (info.missing && info.asset) {
      li.classList.add("missing");
      showMissing(alerts, {
        tag: info.asset.asset_tag,
        message: info.found_message,
        canMark: canMarkFound && !info.seen_here,
      });
    }
    if (info.asset) {
      const strong = li.querySelector("strong");
      if (strong) strong.textContent = info.asset.asset_tag;
      if (detail && info.seen_here) {
        li.classList.add("seen-here");
        detail.textContent = `${info.asset.model} · belongs to ${info.asset.campus}; recorded as seen here`;
      } else if (detail && !detail.textContent.includes("·")) {
        detail.textContent = [info.asset.model, info.asset.status].filter(Boolean).join(" · ");
      }
    }
  }
}

/**
 * The server recognised a room's door tag (one the page and the pack did not know): the line says so, and the
 * prompt offers the switch when the server allows it.
 * @param {Element} li
 * @param {Record<string, any>} info
 */
function showDoorAnswer(li, info) {
  li.classList.remove("unknown");
  li.classList.add("room");
  const strong = li.querySelector("strong");
  const detail = li.querySelector(".detail");
  if (strong) strong.textContent = info.door;
  if (detail) detail.textContent = info.message || "A room's door tag; nothing was recorded.";
  const state = li.querySelector(".state");
  if (state) state.textContent = "door tag";
  const onSwitch = info.switch ? () => switchRoom(info.door) : undefined;
  showDoor(alerts, { door: info.door, room: roomSelect.value || info.room, onSwitch });
}

/** The list of refused events with their reasons, each dismissable. */
async function showRejected() {
  const section = document.getElementById("rejected");
  const list = document.getElementById("rejected-list");
  if (!section || !list) return;
  const shown = await renderRejected(list, {
    className: "scan-line",
    note: document.getElementById("rejected-trimmed"),
    describe: (item) => ({
      title: item.data && item.data.tag ? String(item.data.tag) : item.type,
      detail: `${item.type}${item.data && item.data.room ? " in " + item.data.room : ""} · ${new Date(item.at).toLocaleString()}`,
    }),
  });
  section.hidden = shown === 0;
}

/** @param {string} iso */
function ago(iso) {
  const minutes = Math.round((Date.now() - new Date(iso).getTime()) / 60000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h ago` : `${Math.round(hours / 24)} days ago`;
}

/** @param {string} code */
async function showPack(code) {
  const state = document.querySelector(`[data-pack-state="${CSS.escape(code)}"]`);
  const button = /** @type {HTMLButtonElement | null} */ (document.querySelector(`[data-pack-fetch="${CSS.escape(code)}"]`));
  const info = await packInfo(code).catch(() => undefined);
  if (!state) return;
  const item = state.closest("[data-pack]");
  if (item) item.classList.toggle("pack-kept", Boolean(info));
  if (!info) {
    state.textContent = "Not on this phone yet.";
    if (button) {
      button.textContent = `Make ${button.dataset.packName || code} available offline`;
      button.removeAttribute("aria-label");
    }
    return;
  }
  const size = info.bytes > 1024 * 1024 ? `${(info.bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(info.bytes / 1024))} KB`;
  state.textContent = `Available offline (updated ${ago(info.fetched_at)}). On this phone: ${info.assets} devices, ${info.rooms} rooms, ${size}.`;
  if (button) {
    button.textContent = `Update ${button.dataset.packName || code} now`;
    // The name read aloud starts with the words shown, so voice control ("click Update …") finds the button.
    button.setAttribute("aria-label", `Update ${button.dataset.packName || code} now: the offline copy on this phone`);
  }
}

/** @param {string} code */
async function fetchPack(code) {
  const state = document.querySelector(`[data-pack-state="${CSS.escape(code)}"]`);
  if (state) state.textContent = "Downloading…";
  const outcome = await refreshPack(code);
  if (outcome === "offline") showToast("No connection; the copy on this phone is unchanged.");
  else if (outcome === "signin") showToast("Sign in again to download the offline copy.");
  else if (outcome === "error") showToast("The offline copy could not be downloaded.");
  await showPack(code);
}

async function bootPacks() {
  const codes = [...document.querySelectorAll("[data-pack-fetch]")].map((b) => /** @type {HTMLElement} */ (b).dataset.packFetch || "");
  for (const button of document.querySelectorAll("[data-pack-fetch]")) {
    button.addEventListener("click", () => fetchPack(/** @type {HTMLElement} */ (button).dataset.packFetch || ""));
  }
  for (const code of codes) await showPack(code);
  if (!navigator.onLine) return;
  // Keep saved copies fresh (an unchanged pack costs one 304); a one-campus user gets theirs without asking.
  for (const code of codes) {
    const info = await packInfo(code).catch(() => undefined);
    if (info || codes.length === 1) await fetchPack(code);
  }
}

function boot() {
  const saved = localStorage.getItem(ROOM_KEY);
  if (saved && [...roomSelect.options].some((o) => o.value === saved)) roomSelect.value = saved;
  roomSelect.addEventListener("change", () => localStorage.setItem(ROOM_KEY, roomSelect.value));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value;
    input.value = "";
    input.focus();
    submitCode(value, "field");
  });
  document.addEventListener("rollcall:code", (event) => {
    const detail = /** @type {CustomEvent} */ (event).detail || {};
    submitCode(detail.code || "", detail.source || "camera");
  });
  onOutboxChange((message) => {
    if (message.type === "results") {
      showResults(message.results);
      showMarkResults(alerts, message.results);
    }
    if (message.type === "results" || message.type === "changed") showRejected();
  });
  showRejected();
  showNet();
  showCount();
  addEventListener("online", showNet);
  addEventListener("offline", showNet);
  bootPacks();
  // "updated 5 min ago" stays true while the page is open.
  setInterval(() => {
    for (const b of document.querySelectorAll("[data-pack-fetch]")) showPack(/** @type {HTMLElement} */ (b).dataset.packFetch || "");
  }, 60_000);
  // The camera (static/js/camera.js) is loaded only on scanning pages; each new code goes the same way as typing.
  import("./camera.js").then((camera) => camera.mountCameras({ onScan: (value) => submitCode(value, "camera", false) }));
}

boot();
