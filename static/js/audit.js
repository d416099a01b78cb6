// The phone audit page: start an audit of a room, scan (camera, wedge or typing), close, see the result — all
// without a signal. Events go into the shared outbox (static/js/outbox.js) like every other field action; the
// server's answers come back on its channel, and the server's record of the audit then replaces what the phone
// worked out on its own. A device reported missing raises a loud alert; a room's door tag is never an unknown
// device: it asks whether to switch to auditing that room.

import { foldCode, scannedValue } from "./codes.js";
import { showDoor, showMarkResults, showMissing } from "./found.js";
import { enqueue, onOutboxChange, pendingCount, waiting } from "./outbox.js";
import { findAsset, findRoom, packInfo, refreshPack, roomAssets } from "./pack.js";
import { renderRejected } from "./rejected.js";
import { signalScan } from "./signal.js";
import { getMeta, setMeta } from "./store.js";

const app = /** @type {HTMLElement} */ (document.getElementById("audit-app"));
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const AUDIT_URL = app.dataset.auditUrl || "/api/v1/audits/";
const CURRENT_KEY = "rollcall-audit-current";
const canMarkFound = app.dataset.canMarkFound === "1";

/**
 * @typedef {import("./pack.js").PackAsset} PackAsset
 * @typedef {import("./store.js").RejectedEvent} RejectedEvent
 * @typedef {{code: string, name: string, campus: string}} Where
 * @typedef {{id: string, value: string, tag: string | null, model: string, home: string | null, at: string, kind: string}} Scan
 * @typedef {{uuid: string, room: string, roomLabel: string, campus: string, startedAt: string, closedAt: string | null,
 *   startId: string, closeId: string | null, scans: Scan[], conditions: Record<string, string>, moved: Record<string, boolean>,
 *   server: ServerAudit | null}} AuditState
 * @typedef {{asset_tag: string, model: string, duplicate?: boolean, condition?: string | null, home_room?: string | null}} ServerDevice
 * @typedef {{audit: string, status: string, expected: number, found: ServerDevice[], missing: ServerDevice[],
 *   unexpected: ServerDevice[], unknown: Array<{code: string}>}} ServerAudit
 * @typedef {{tag: string, model: string, dup?: boolean, condition?: string | null, home?: string | null, known?: boolean}} Line
 */

/** @type {AuditState | null} */
let state = null;
/** Devices whose home is the audited room, from the kept offline pack. @type {PackAsset[]} */
let expected = [];
/** This audit's events still in the outbox (the server's record is shown only when none wait). */
let auditWaiting = 0;

// Storage: the audit's own state sits in the outbox database's meta store, next to the events it produced --------

/** @param {string} uuid */
const stateKey = (uuid) => `audit:${uuid}`;

async function save() {
  if (state) await setMeta(stateKey(state.uuid), state);
}

async function loadExpected() {
  if (!state) return;
  const s = state;
  let mine = await roomAssets(s.room).catch(() => []);
  if (!mine.length && !(await packInfo(s.campus).catch(() => undefined))) {
    // This campus's pack was never kept here: fetch it now (a no-op without a signal).
    await refreshPack(s.campus).catch(() => "error");
    mine = await roomAssets(s.room).catch(() => []);
  }
  if (state === s) expected = mine.filter((a) => a.status !== "retired");
}

/**
 * The room a typed or scanned value names: the kept pack first, then the page's room list.
 * @param {string} text
 * @returns {Promise<Where | null>}
 */
async function roomFor(text) {
  const room = await findRoom(text).catch(() => undefined);
  if (room) return { code: room.code, name: room.name, campus: room.campus };
  const raw = scannedValue(text);
  const folded = foldCode(raw);
  const upper = raw.toUpperCase();
  const option = [...$("start-room").options].find(
    (o) => o.value && (o.value.toUpperCase() === upper || o.dataset.tag === folded),
  );
  return option ? { code: option.value, name: option.textContent, campus: option.dataset.campus } : null;
}

// Outbox state and the server's answers --------------------------------------------------------------------

/** After an event is recorded (the outbox sends it, now or later by Background Sync): keep the state, update the counts. */
function afterEnqueue() {
  auditWaiting += 1;
  save();
  showNet();
}

/** Count this audit's waiting events. */
async function readOutbox() {
  if (!state) return;
  const uuid = state.uuid;
  const queued = await waiting().catch(() => []);
  if (!state || state.uuid !== uuid) return;
  auditWaiting = queued.filter((e) => e.data && e.data.audit === uuid).length;
}

/** How many events wait (all of this user's, like the header badge), or why they cannot be sent. */
async function showNet() {
  const [count, signin] = await Promise.all([pendingCount().catch(() => 0), getMeta("needs_signin").catch(() => null)]);
  const online = navigator.onLine;
  const text = signin && count ? "Signed out: sign in again to send your scans."
    : count ? `${count} waiting to sync${online ? "" : " — offline, kept on this phone"}.`
    : online ? "All synced." : "Offline — scans are kept on this phone.";
  $("audit-net").textContent = text;
  app.dataset.pending = String(count);
}

/** Ask the server for its record of this audit once none of its events wait; it becomes what the page shows. */
async function refreshFromServer() {
  if (!state || auditWaiting > 0 || !navigator.onLine) return;
  const s = state;
  try {
    const resp = await fetch(AUDIT_URL + encodeURIComponent(s.uuid), { credentials: "same-origin" });
    if (resp.ok) {
      s.server = await resp.json();
      await save();
    }
  } catch {
    // Keep the phone's own view.
  }
}

let updating = false;
let updateAgain = false;
/** Bring the page up to date with the outbox (and then the server); one run at a time, the last call wins. */
async function update() {
  if (updating) {
    updateAgain = true;
    return;
  }
  updating = true;
  try {
    do {
      updateAgain = false;
      await readOutbox();
      await refreshFromServer();
      await showNet();
      render();
    } while (updateAgain);
  } finally {
    updating = false;
  }
}

// The audit on this phone -------------------------------------------------------------------------------------

/** @param {Where} where */
async function startAudit(where) {
  const uuid = crypto.randomUUID();
  const event = await enqueue("audit.start", { audit: uuid, room: where.code });
  state = {
    uuid, room: where.code, roomLabel: where.name && !where.name.startsWith(where.code) ? `${where.code} ${where.name}` : where.name || where.code,
    campus: where.campus, startedAt: event.at, closedAt: null, startId: event.id, closeId: null,
    scans: [], conditions: {}, moved: {}, server: null,
  };
  auditWaiting = 0;
  localStorage.setItem(CURRENT_KEY, uuid);
  history.replaceState(null, "", `#audit=${uuid}`);
  await loadExpected();
  show();
  afterEnqueue();
}

let scanChain = Promise.resolve(/** @type {boolean} */ (false));
/**
 * Record a scan; scans are handled one after another so "already scanned" is always right.
 * @param {string} value
 * @param {number} [detectedAt] performance.now() of the camera's decode, for the feedback latency measure
 * @returns {Promise<boolean>} false for a code no kept device matches
 */
function recordScan(value, detectedAt) {
  const t0 = detectedAt ?? performance.now();
  const run = scanChain.then(() => scanOne(value, t0));
  scanChain = run.catch(() => false);
  return run;
}

/**
 * Classify a scan against the pack: found (lives here), duplicate, unexpected (lives elsewhere) or unknown; the
 * event is in IndexedDB before the screen says anything.
 * @param {string} value
 * @param {number} t0
 */
async function scanOne(value, t0) {
  if (!state || state.closedAt) return false;
  const s = state;
  const code = scannedValue(value);
  const asset = /** @type {PackAsset | undefined} */ (await findAsset(value).catch(() => undefined));
  const door = asset ? null : await roomFor(value);
  if (door) {
    offerSwitch(door);
    return true;
  }
  const tag = asset ? asset.asset_tag : null;
  const before = tag ? s.scans.some((x) => x.tag === tag) : s.scans.some((x) => !x.tag && foldCode(x.value) === foldCode(code));
  const kind = !asset ? "unknown" : asset.home_room === s.room ? "found" : "unexpected";
  const event = await enqueue("scan", { tag: code, room: s.room, audit: s.uuid });
  s.scans.push({ id: event.id, value: code, tag, model: asset ? asset.model : "", home: asset ? asset.home_room : null, at: event.at, kind });
  const label = tag || code;
  const text = before ? `${label}: already scanned (not counted twice)`
    : kind === "found" ? `${label} found`
    : kind === "unexpected" ? `${label} does not belong here${asset && asset.home_room ? ` — its room is ${asset.home_room}` : ""}`
    : `${label}: unknown code`;
  if (state === s) {
    feedback(text, before ? "duplicate" : kind);
    if (asset && asset.status === "missing") showMissing($("audit-alerts"), { tag: asset.asset_tag, room: s.room, canMark: canMarkFound });
    render();
  }
  requestAnimationFrame(() => {
    performance.measure("scan-feedback", { start: t0, end: performance.now() });
  });
  afterEnqueue();
  return kind !== "unknown";
}

/**
 * Another room's door tag scanned during the audit: offer to audit that room instead. The audit of this room stays
 * open (nothing is marked missing without a close), for this phone or anyone to finish.
 * @param {Where} where
 */
function offerSwitch(where) {
  if (!state) return;
  const s = state;
  const note = where.code === s.room ? "Scan the devices in the room." : `The audit of ${s.room} stays open until someone closes it.`;
  showDoor($("audit-alerts"), {
    door: where.code,
    room: s.room,
    note,
    onSwitch: () => {
      if (state !== s) return;
      state = null;
      expected = [];
      startAudit(where);
    },
  });
}

/**
 * The server's answers to this audit's scans: a door tag the phone did not know (it is not an unknown code), and
 * a missing device the pack did not say was missing.
 * @param {import("./outbox.js").SyncResult[]} results
 */
function showAnswers(results) {
  const s = state;
  if (!s) return;
  for (const result of results) {
    const scan = s.scans.find((x) => x.id === result.id);
    const info = result.info || {};
    if (!scan || result.status !== "applied") continue;
    if (info.door) {
      scan.kind = "door";
      save();
      offerSwitch({ code: info.door, name: info.door, campus: s.campus });
    } else if (info.missing && info.asset) {
      showMissing($("audit-alerts"), { tag: info.asset.asset_tag, message: info.found_message, canMark: canMarkFound && !info.seen_here });
    }
  }
  showMarkResults($("audit-alerts"), results);
}

/** @param {string} text @param {string} tone */
function feedback(text, tone) {
  const el = $("scan-feedback");
  el.textContent = text;
  el.dataset.tone = tone;
}

async function closeAudit() {
  if (!state || state.closedAt) return;
  if (!confirm(`Close the audit of ${state.room}? Devices not found will be marked missing.`)) return;
  const s = state;
  const event = await enqueue("audit.close", { audit: s.uuid });
  s.closedAt = event.at;
  s.closeId = event.id;
  render();
  afterEnqueue();
}

/** @param {string} tag @param {string} condition */
async function setCondition(tag, condition) {
  if (!state) return;
  const s = state;
  await enqueue("audit.condition", { audit: s.uuid, tag, condition });
  s.conditions[tag] = condition;
  render();
  afterEnqueue();
}

/** @param {string} tag */
async function moveHere(tag) {
  if (!state || !confirm(`Make ${state.room} the home room of ${tag}?`)) return;
  const s = state;
  await enqueue("audit.move", { audit: s.uuid, tag });
  s.moved[tag] = true;
  render();
  afterEnqueue();
}

// Drawing -----------------------------------------------------------------------------------------------------

/** What the phone knows: the server's record when it has one and none of this audit's events wait, else its own view. */
function view() {
  const s = /** @type {AuditState} */ (state);
  if (s.server && auditWaiting === 0) {
    const srv = s.server;
    return {
      source: "server",
      expected: srv.expected,
      found: srv.found.map((/** @type {ServerDevice} */ d) => ({ tag: d.asset_tag, model: d.model, dup: d.duplicate, condition: d.condition })),
      missing: srv.missing.map((d) => ({ tag: d.asset_tag, model: d.model })),
      unexpected: srv.unexpected.map((d) => ({ tag: d.asset_tag, model: d.model, home: d.home_room, dup: d.duplicate, known: true })),
      unknown: srv.unknown.map((u) => u.code),
      closed: srv.status === "closed",
    };
  }
  /** @type {Map<string, Scan[]>} */
  const byTag = new Map();
  for (const scan of s.scans) if (scan.tag) byTag.set(scan.tag, [...(byTag.get(scan.tag) || []), scan]);
  /** @type {Line[]} */
  const found = [], missing = [], unexpected = [];
  /** @type {string[]} */
  const unknown = [];
  for (const a of expected) {
    const seen = byTag.get(a.asset_tag);
    if (seen) found.push({ tag: a.asset_tag, model: a.model, dup: seen.length > 1, condition: s.conditions[a.asset_tag] || null });
    else missing.push({ tag: a.asset_tag, model: a.model });
  }
  const expectedTags = new Set(expected.map((a) => a.asset_tag));
  for (const [tag, seen] of byTag) {
    if (expectedTags.has(tag)) continue;
    const last = seen[seen.length - 1];
    unexpected.push({ tag, model: last.model, home: last.home, dup: seen.length > 1, known: true });
  }
  for (const scan of s.scans) if (!scan.tag && scan.kind !== "door" && !unknown.includes(scan.value)) unknown.push(scan.value);
  return { source: "phone", expected: expected.length, found, missing, unexpected, unknown, closed: Boolean(s.closedAt) };
}

/**
 * @param {string} text
 * @param {string} [cls]
 */
function li(text, cls = "") {
  const el = document.createElement("li");
  el.className = cls;
  const strong = document.createElement("strong");
  strong.textContent = text;
  el.append(strong);
  return el;
}

/** @param {string} text */
function muted(text) {
  const span = document.createElement("span");
  span.className = "muted";
  span.textContent = ` ${text}`;
  return span;
}

/**
 * @param {string} text
 * @param {string} cls
 */
function small(text, cls) {
  const span = document.createElement("span");
  span.className = `badge ${cls}`;
  span.textContent = text;
  return span;
}

/**
 * What a refused event was, in the page's words.
 * @param {RejectedEvent} item
 */
function describe(item) {
  const s = /** @type {AuditState} */ (state);
  if (item.id === s.startId) return "Start";
  if (item.id === s.closeId) return "Close";
  const tag = item.data && item.data.tag;
  if (item.type === "scan") return tag || "Scan";
  if (item.type === "audit.condition") return `${tag} condition`;
  if (item.type === "audit.move") return `Move ${tag}`;
  return "Change";
}

/**
 * This audit's events the server refused, from the outbox's rejected list.
 * @param {AuditState} s
 */
async function showRejected(s) {
  const shown = await renderRejected($("list-rejected"), {
    className: "line-rejected",
    only: (item) => Boolean(item.data && item.data.audit === s.uuid),
    describe: (item) => ({ title: describe(item) }),
  });
  if (state === s) $("rejected-box").hidden = shown === 0;
}

function render() {
  if (!state) return;
  const s = state;
  const v = view();
  // The lists below are built anew: a keyboard user on one of their buttons is put back on the new one.
  const hadFocus = app.contains(document.activeElement);
  const wasOn = buttonKey(document.activeElement);
  $("n-found").textContent = String(v.found.length);
  $("n-expected").textContent = String(v.expected);
  $("n-missing").textContent = String(v.missing.length);
  $("n-unexpected").textContent = String(v.unexpected.length);
  $("n-unknown").textContent = String(v.unknown.length);
  app.dataset.found = String(v.found.length);
  app.dataset.source = v.source;
  $("audit-state").textContent = v.closed ? (v.source === "server" ? "closed · server record" : "closed · waiting to sync") : "in progress";
  $("audit-state").className = `badge ${v.closed ? "audit-closed" : "audit-open"}`;
  $("l-missing-title").textContent = `${v.closed ? "Missing" : "Still missing"} (${v.missing.length})`;
  $("l-found-title").textContent = `Found (${v.found.length} of ${v.expected})`;
  $("l-unexpected-title").textContent = `Unexpected (${v.unexpected.length})`;
  $("l-unknown-title").textContent = `Unknown codes (${v.unknown.length})`;

  $("list-missing").replaceChildren(...v.missing.map((d) => { const el = li(d.tag, "line-missing"); el.append(muted(d.model)); return el; }));
  $("list-found").replaceChildren(...v.found.map((d) => {
    const el = li(d.tag, "line-found");
    el.dataset.tag = d.tag;
    el.append(muted(d.model));
    if (d.dup) el.append(small("scanned twice", "dup"));
    const cond = document.createElement("span");
    cond.className = "cond-buttons";
    for (const c of ["good", "damaged"]) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = c;
      b.dataset.condition = c;
      b.dataset.tag = d.tag;
      b.setAttribute("aria-pressed", String((s.conditions[d.tag] || d.condition) === c));
      b.setAttribute("aria-label", `${d.tag} ${c}`);
      cond.append(b);
    }
    el.append(cond);
    return el;
  }));
  $("list-unexpected").replaceChildren(...v.unexpected.map((d) => {
    const el = li(d.tag, "line-unexpected");
    el.append(muted(d.model));
    const note = document.createElement("span");
    note.className = "note";
    note.textContent = s.moved[d.tag] || d.home === s.room ? ` now belongs here` : d.home ? ` belongs in ${d.home}` : " has no home room";
    el.append(note);
    if (d.dup) el.append(small("scanned twice", "dup"));
    if (!s.moved[d.tag] && d.home !== s.room && d.known) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.move = d.tag;
      b.textContent = `Move to ${s.room}`;
      el.append(b);
    }
    return el;
  }));
  $("list-unknown").replaceChildren(...v.unknown.map((code) => li(code, "mono")));

  showRejected(s);

  $("close-audit").hidden = v.closed;
  $("audit-code").disabled = v.closed;
  $("new-audit").hidden = !v.closed;
  const link = $("server-link");
  link.hidden = !s.server;
  link.href = `/audits/${s.server ? s.server.audit : ""}`;
  keepFocus(hadFocus, wasOn);
}

function show() {
  const hadFocus = app.contains(document.activeElement);
  $("audit-start").hidden = Boolean(state);
  $("audit-run").hidden = !state;
  if (state) {
    const label = state.roomLabel;
    document.querySelectorAll("[data-room-label]").forEach((el) => { el.textContent = label; });
    render();
  }
  keepFocus(hadFocus);
}

/**
 * A keyboard user whose button was just hidden (Start audit, Close audit) or rebuilt (a condition button) goes on
 * from the same button or the next place to act, not from the top of the page.
 * @param {boolean} hadFocus
 * @param {string} [wasOn] the buttonKey of the button that had the focus
 */
function keepFocus(hadFocus, wasOn = "") {
  const active = document.activeElement;
  if (!hadFocus || (active && active !== document.body && active.isConnected && active.checkVisibility())) return;
  const again = wasOn ? [...app.querySelectorAll("button")].find((b) => buttonKey(b) === wasOn) : undefined;
  const field = /** @type {HTMLInputElement} */ ($("audit-code"));
  /** @type {HTMLElement} */ (again || (!state ? $("start-room") : field.disabled ? $("new-audit") : field)).focus();
}

/**
 * A list button's identity across rebuilds: its device and what it does ("" for anything else).
 * @param {Element | null} el
 */
function buttonKey(el) {
  if (!(el instanceof HTMLButtonElement) || !el.dataset.tag && !el.dataset.move) return "";
  return [el.dataset.tag || "", el.dataset.condition || "", el.dataset.move || ""].join("|");
}

// Wiring ------------------------------------------------------------------------------------------------------

function hashParams() {
  return new URLSearchParams(location.hash.replace(/^#/, ""));
}

function listenToOutbox() {
  // Results (from this page's flushes or the worker's Background Sync), new events and sign-in prompts.
  onOutboxChange((message) => {
    if (message.type === "results") showAnswers(message.results);
    update();
  });
}

async function boot() {
  const campuses = new Set([...$("start-room").options].map((o) => o.dataset.campus).filter(Boolean));
  const current = hashParams().get("audit") || localStorage.getItem(CURRENT_KEY);
  if (current) {
    state = /** @type {AuditState | null} */ ((await getMeta(stateKey(current)).catch(() => null)) || null);
    if (state && state.closedAt && !hashParams().get("audit")) state = null;
  }
  listenToOutbox();
  await loadExpected();
  await readOutbox();
  show();
  // Keep each campus's pack fresh (an unchanged one costs a 304); without a signal the kept copy answers.
  await Promise.all([...campuses].map((code) => refreshPack(code).catch(() => "error")));
  await loadExpected();
  const room = hashParams().get("room");
  if (!state && room) {
    const where = await roomFor(room);
    if (where) $("start-room").value = where.code;
  }
  update();

  $("start-form").addEventListener("submit", async (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    const typed = $("start-tag").value.trim();
    const where = await roomFor(typed || $("start-room").value);
    const err = $("start-error");
    if (!where) {
      err.textContent = typed ? `No room with the tag or code ${typed}.` : "Choose a room, or scan its tag.";
      err.hidden = false;
      return;
    }
    err.hidden = true;
    startAudit(where);
  });
  $("audit-scan-form").addEventListener("submit", (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    const input = $("audit-code");
    const value = input.value.trim();
    input.value = "";
    if (value) recordScan(value).then(signalScan, () => signalScan(false));
  });
  $("close-audit").addEventListener("click", closeAudit);
  $("new-audit").addEventListener("click", () => {
    state = null;
    expected = [];
    localStorage.removeItem(CURRENT_KEY);
    history.replaceState(null, "", location.pathname);
    show();
  });
  app.addEventListener("click", (e) => {
    const target = /** @type {HTMLElement} */ (e.target);
    if (target.dataset.condition && target.dataset.tag) setCondition(target.dataset.tag, target.dataset.condition);
    if (target.dataset.move) moveHere(target.dataset.move);
  });
  addEventListener("online", () => showNet());
  addEventListener("offline", () => showNet());

  // The camera: loaded only here (and on /scan), prepared at once so it also works after the signal drops.
  const camera = await import("./camera.js");
  const root = $("audit-camera");
  new camera.CameraScanner(root, {
    autoStart: sessionStorage.getItem("camera-on") === "1",
    onScan: async (value, scan) => {
      if (!state) {
        const where = await roomFor(value);
        if (where) await startAudit(where);
        return Boolean(where);
      }
      return recordScan(value, scan.detectedAt);
    },
  });
  // Ready for work without a signal once the barcode reader is loaded too.
  await camera.prepareDetector().catch(() => {});
  app.dataset.ready = "1";
}

boot();
