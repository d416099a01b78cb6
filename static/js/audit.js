// The phone audit page: start an audit of a room, scan (camera, wedge or typing), close, see the result — all
// without a signal. Events wait in IndexedDB and go to POST /api/v1/sync when there is a connection; the server's
// answer (its audit result, any rejection and its reason) then replaces what the phone worked out on its own.

const app = /** @type {HTMLElement} */ (document.getElementById("audit-app"));
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const SYNC_URL = app.dataset.syncUrl || "/api/v1/sync";
const PACK_URL = app.dataset.packUrl || "/api/v1/offline-pack";
const AUDIT_URL = app.dataset.auditUrl || "/api/v1/audits/";
const DB_NAME = "rollcall-audits";
const FLUSH_EVERY_MS = 5000;

/**
 * @typedef {{tag_code: string, asset_tag: string, serial: string, model: string, home_room: string | null, status: string}} PackAsset
 * @typedef {{code: string, name: string, tag_code: string, active: boolean}} PackRoom
 * @typedef {{campus: {code: string, name: string}, rooms: PackRoom[], assets: PackAsset[]}} Pack
 * @typedef {{id: string, value: string, tag: string | null, at: string, kind: string}} Scan
 * @typedef {{uuid: string, room: string, roomLabel: string, campus: string, startedAt: string, closedAt: string | null,
 *   startId: string, closeId: string | null, scans: Scan[], conditions: Record<string, string>, moved: Record<string, boolean>,
 *   results: Record<string, {status: string, reason?: string, info?: any}>, server: any}} AuditState
 */

// Storage ------------------------------------------------------------------------------------------------------

/** @returns {Promise<IDBDatabase>} */
function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore("packs", { keyPath: "campus.code" });
      db.createObjectStore("audits", { keyPath: "uuid" });
      db.createObjectStore("events", { keyPath: "seq", autoIncrement: true });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
const dbReady = openDb();

/**
 * @param {string} store
 * @param {IDBTransactionMode} mode
 * @param {(s: IDBObjectStore) => IDBRequest | void} work
 */
async function tx(store, mode, work) {
  const db = await dbReady;
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    const req = work(t.objectStore(store));
    t.oncomplete = () => resolve(req ? req.result : undefined);
    t.onerror = () => reject(t.error);
  });
}

// The offline pack: which devices live in which room ------------------------------------------------------------

/** @type {Map<string, Pack>} */
const packs = new Map();

/** Fold a typed or scanned code the way the server does (case, look-alikes, spaces and dashes). */
function fold(text) {
  return (text || "").replace(/[\s\-_.]+/g, "").toUpperCase().replace(/O/g, "0").replace(/[IL]/g, "1").replace(/U/g, "V");
}

/** The tag code out of our QR URL, or the text as it is. */
function codeOf(raw) {
  const text = (raw || "").trim();
  const at = text.lastIndexOf("/t/");
  return at >= 0 ? text.slice(at + 3).split(/[?#/]/)[0] : text;
}

/** @param {string} campus */
async function loadPack(campus) {
  try {
    const resp = await fetch(`${PACK_URL}?campus=${encodeURIComponent(campus)}`, { credentials: "same-origin" });
    if (resp.ok) {
      const pack = await resp.json();
      packs.set(campus, pack);
      await tx("packs", "readwrite", (s) => s.put(pack));
      return pack;
    }
  } catch {
    // Offline: the copy kept from the last visit answers.
  }
  const kept = await tx("packs", "readonly", (s) => s.get(campus));
  if (kept) packs.set(campus, kept);
  return kept || null;
}

/** @param {string} value @returns {PackAsset | null} */
function findAsset(value) {
  const raw = codeOf(value);
  const folded = fold(raw);
  const upper = raw.trim().toUpperCase();
  for (const pack of packs.values()) {
    for (const a of pack.assets) {
      if (a.tag_code === folded || a.asset_tag.toUpperCase() === upper || a.serial.toUpperCase() === upper) return a;
    }
  }
  return null;
}

/** @param {string} value @returns {{room: PackRoom, campus: string} | null} */
function findRoom(value) {
  const raw = codeOf(value);
  const folded = fold(raw);
  const upper = raw.trim().toUpperCase();
  for (const [campus, pack] of packs) {
    for (const r of pack.rooms) if (r.code.toUpperCase() === upper || r.tag_code === folded) return { room: r, campus };
  }
  const option = [...$("start-room").options].find(
    (o) => o.value && (o.value.toUpperCase() === upper || o.dataset.tag === folded),
  );
  if (option) return { room: { code: option.value, name: option.textContent, tag_code: option.dataset.tag, active: true }, campus: option.dataset.campus };
  return null;
}

// Events and sync ---------------------------------------------------------------------------------------------

function newId() {
  return crypto.randomUUID ? crypto.randomUUID() : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

/** Keep an event until the server answers for it; then try to send it. */
async function queue(type, data, id = newId()) {
  const event = { id, type, at: new Date().toISOString(), data };
  await tx("events", "readwrite", (s) => s.add({ event, audit: data.audit }));
  flushSoon();
  return event;
}

let flushing = false;
let flushTimer = 0;
function flushSoon() {
  clearTimeout(flushTimer);
  flushTimer = setTimeout(flush, 0);
}

/** Send what waits, oldest first; an event leaves the queue only when the server has answered for it. */
async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    const rows = /** @type {any[]} */ (await tx("events", "readonly", (s) => s.getAll()));
    showNet(rows.length);
    if (!rows.length || !navigator.onLine) return;
    const resp = await fetch(SYNC_URL, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ client_id: clientId(), events: rows.map((r) => r.event).slice(0, 200) }),
    });
    if (!resp.ok) {
      showNet(rows.length, resp.status === 401 ? "Signed out: sign in again to send your scans." : "");
      return;
    }
    const { results } = await resp.json();
    const answered = new Map(results.map((r) => [r.id, r]));
    for (const row of rows) {
      const r = answered.get(row.event.id);
      if (!r) continue;
      await tx("events", "readwrite", (s) => s.delete(row.seq));
      if (row.audit && state && row.audit === state.uuid) state.results[row.event.id] = r;
    }
    const left = /** @type {any[]} */ (await tx("events", "readonly", (s) => s.getAll()));
    showNet(left.length);
    if (state) {
      await save();
      await refreshFromServer();
      render();
    }
    if (left.length) flushSoon();
  } catch {
    // No connection: everything stays queued for the next try.
  } finally {
    flushing = false;
  }
}

function clientId() {
  let id = localStorage.getItem("rollcall-client-id");
  if (!id) {
    id = newId();
    localStorage.setItem("rollcall-client-id", id);
  }
  return id;
}

/** @param {number} waiting @param {string} [extra] */
function showNet(waiting, extra = "") {
  const online = navigator.onLine;
  const text = waiting
    ? `${waiting} waiting to sync${online ? "" : " — offline, kept on this phone"}.`
    : online ? "All synced." : "Offline — scans are kept on this phone.";
  $("audit-net").textContent = extra || text;
  app.dataset.pending = String(waiting);
}

/** Ask the server for its record of this audit (once it knows of it); it becomes what the page shows. */
async function refreshFromServer() {
  if (!state || !navigator.onLine) return;
  const start = state.results[state.startId];
  if (!start || start.status !== "applied" && start.status !== "duplicate") return;
  try {
    const resp = await fetch(AUDIT_URL + encodeURIComponent(state.uuid), { credentials: "same-origin" });
    if (resp.ok) state.server = await resp.json();
  } catch {
    // Keep the phone's own view.
  }
}

// The audit on this phone -------------------------------------------------------------------------------------

/** @type {AuditState | null} */
let state = null;

async function save() {
  if (state) await tx("audits", "readwrite", (s) => s.put(state));
}

/** @param {{room: PackRoom, campus: string}} where */
async function startAudit(where) {
  const uuid = newId();
  const startId = newId();
  state = {
    uuid, room: where.room.code, roomLabel: where.room.name && where.room.name !== where.room.code ? `${where.room.code} ${where.room.name}` : where.room.code,
    campus: where.campus, startedAt: new Date().toISOString(), closedAt: null, startId, closeId: null,
    scans: [], conditions: {}, moved: {}, results: {}, server: null,
  };
  localStorage.setItem("rollcall-audit-current", uuid);
  await save();
  history.replaceState(null, "", `#audit=${uuid}`);
  show();
  await queue("audit.start", { audit: uuid, room: state.room }, startId);
  if (!packs.has(where.campus)) loadPack(where.campus).then(render);
}

/**
 * Classify a scan against the pack: found (lives here), duplicate, unexpected (lives elsewhere) or unknown.
 * @param {string} value
 * @param {number} [detectedAt] performance.now() of the camera's decode, for the feedback latency measure
 */
function recordScan(value, detectedAt) {
  if (!state || state.closedAt) return false;
  const t0 = detectedAt ?? performance.now();
  const asset = findAsset(value);
  const tag = asset ? asset.asset_tag : null;
  const before = tag ? state.scans.some((s) => s.tag === tag) : state.scans.some((s) => !s.tag && fold(s.value) === fold(value));
  const kind = !asset ? "unknown" : asset.home_room === state.room ? "found" : "unexpected";
  const id = newId();
  state.scans.push({ id, value: codeOf(value), tag, at: new Date().toISOString(), kind });
  const label = tag || codeOf(value);
  const text = before ? `${label}: already scanned (not counted twice)`
    : kind === "found" ? `${label} found`
    : kind === "unexpected" ? `${label} does not belong here${asset.home_room ? ` — its room is ${asset.home_room}` : ""}`
    : `${label}: unknown code`;
  feedback(text, before ? "duplicate" : kind);
  render();
  requestAnimationFrame(() => {
    performance.measure("scan-feedback", { start: t0, end: performance.now() });
  });
  queue("scan", { tag: codeOf(value), room: state.room, audit: state.uuid }, id).then(save);
  return kind !== "unknown";
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
  state.closedAt = new Date().toISOString();
  state.closeId = newId();
  await save();
  render();
  await queue("audit.close", { audit: state.uuid }, state.closeId);
}

/** @param {string} tag @param {string} condition */
function setCondition(tag, condition) {
  if (!state) return;
  state.conditions[tag] = condition;
  queue("audit.condition", { audit: state.uuid, tag, condition }).then(save);
  render();
}

/** @param {string} tag */
function moveHere(tag) {
  if (!state || !confirm(`Make ${state.room} the home room of ${tag}?`)) return;
  state.moved[tag] = true;
  queue("audit.move", { audit: state.uuid, tag }).then(save);
  render();
}

// Drawing -----------------------------------------------------------------------------------------------------

/** What the phone knows: the server's record when it has one and nothing is waiting, else its own view. */
function view() {
  const s = /** @type {AuditState} */ (state);
  const waiting = Number(app.dataset.pending || "0") > 0;
  if (s.server && !waiting) {
    const srv = s.server;
    return {
      source: "server",
      expected: srv.expected,
      found: srv.found.map((d) => ({ tag: d.asset_tag, model: d.model, dup: d.duplicate, condition: d.condition })),
      missing: srv.missing.map((d) => ({ tag: d.asset_tag, model: d.model })),
      unexpected: srv.unexpected.map((d) => ({ tag: d.asset_tag, model: d.model, home: d.home_room, dup: d.duplicate, campus: d.campus })),
      unknown: srv.unknown.map((u) => u.code),
      closed: srv.status === "closed",
    };
  }
  const expected = [];
  for (const pack of packs.values()) for (const a of pack.assets) if (a.home_room === s.room && a.status !== "retired") expected.push(a);
  const counts = new Map();
  for (const scan of s.scans) if (scan.tag) counts.set(scan.tag, (counts.get(scan.tag) || 0) + 1);
  const found = [], missing = [], unexpected = [], unknown = [];
  for (const a of expected) {
    if (counts.has(a.asset_tag)) found.push({ tag: a.asset_tag, model: a.model, dup: counts.get(a.asset_tag) > 1, condition: s.conditions[a.asset_tag] || null });
    else missing.push({ tag: a.asset_tag, model: a.model });
  }
  const expectedTags = new Set(expected.map((a) => a.asset_tag));
  for (const [tag, n] of counts) {
    if (expectedTags.has(tag)) continue;
    const a = findAsset(tag);
    unexpected.push({ tag, model: a ? a.model : "", home: a ? a.home_room : null, dup: n > 1, campus: null });
  }
  for (const scan of s.scans) if (!scan.tag && !unknown.includes(scan.value)) unknown.push(scan.value);
  return { source: "phone", expected: expected.length, found, missing, unexpected, unknown, closed: Boolean(s.closedAt) };
}

function li(text, cls = "") {
  const el = document.createElement("li");
  el.className = cls;
  const strong = document.createElement("strong");
  strong.textContent = text;
  el.append(strong);
  return el;
}

function muted(text) {
  const span = document.createElement("span");
  span.className = "muted";
  span.textContent = ` ${text}`;
  return span;
}

function small(text, cls) {
  const span = document.createElement("span");
  span.className = `badge ${cls}`;
  span.textContent = text;
  return span;
}

function render() {
  if (!state) return;
  const v = view();
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
      b.setAttribute("aria-pressed", String((state.conditions[d.tag] || d.condition) === c));
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
    note.textContent = state.moved[d.tag] || d.home === state.room ? ` now belongs here` : d.home ? ` belongs in ${d.home}` : " has no home room";
    el.append(note);
    if (d.dup) el.append(small("scanned twice", "dup"));
    if (!state.moved[d.tag] && d.home !== state.room && findAsset(d.tag)) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.move = d.tag;
      b.textContent = `Move to ${state.room}`;
      el.append(b);
    }
    return el;
  }));
  $("list-unknown").replaceChildren(...v.unknown.map((code) => li(code, "mono")));

  const rejected = Object.entries(state.results).filter(([, r]) => r.status === "rejected");
  $("rejected-box").hidden = rejected.length === 0;
  $("list-rejected").replaceChildren(...rejected.map(([id, r]) => {
    const scan = state.scans.find((s) => s.id === id);
    const what = id === state.startId ? "Start" : id === state.closeId ? "Close" : scan ? scan.value : "Change";
    const el = li(what, "line-rejected");
    el.append(muted(r.reason || "refused"));
    return el;
  }));

  $("close-audit").hidden = v.closed;
  $("audit-code").disabled = v.closed;
  $("new-audit").hidden = !v.closed;
  const link = $("server-link");
  link.hidden = !state.server;
  link.href = `/audits/${state.server ? state.server.audit : ""}`;
}

function show() {
  $("audit-start").hidden = Boolean(state);
  $("audit-run").hidden = !state;
  if (state) {
    document.querySelectorAll("[data-room-label]").forEach((el) => { el.textContent = state.roomLabel; });
    render();
  }
}

// Wiring ------------------------------------------------------------------------------------------------------

function hashParams() {
  return new URLSearchParams(location.hash.replace(/^#/, ""));
}

async function boot() {
  const campuses = new Set([...$("start-room").options].map((o) => o.dataset.campus).filter(Boolean));
  const current = hashParams().get("audit") || localStorage.getItem("rollcall-audit-current");
  if (current) {
    state = /** @type {AuditState | null} */ (await tx("audits", "readonly", (s) => s.get(current))) || null;
    if (state && state.closedAt && !hashParams().get("audit")) state = null;
  }
  show();
  await Promise.all([...campuses].map(loadPack));
  const room = hashParams().get("room");
  if (!state && room) {
    const where = findRoom(room);
    if (where) $("start-room").value = where.room.code;
  }
  if (state) render();
  flush();

  $("start-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const typed = $("start-tag").value.trim();
    const where = findRoom(typed || $("start-room").value);
    const err = $("start-error");
    if (!where) {
      err.textContent = typed ? `No room with the tag or code ${typed}.` : "Choose a room, or scan its tag.";
      err.hidden = false;
      return;
    }
    err.hidden = true;
    startAudit(where);
  });
  $("audit-scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("audit-code");
    const value = input.value.trim();
    input.value = "";
    if (value) recordScan(value);
  });
  $("close-audit").addEventListener("click", closeAudit);
  $("new-audit").addEventListener("click", () => {
    state = null;
    localStorage.removeItem("rollcall-audit-current");
    history.replaceState(null, "", location.pathname);
    show();
  });
  app.addEventListener("click", (e) => {
    const target = /** @type {HTMLElement} */ (e.target);
    if (target.dataset.condition && target.dataset.tag) setCondition(target.dataset.tag, target.dataset.condition);
    if (target.dataset.move) moveHere(target.dataset.move);
  });
  addEventListener("online", flushSoon);
  addEventListener("offline", () => showNet(Number(app.dataset.pending || "0")));
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") flushSoon(); });
  setInterval(() => { if (Number(app.dataset.pending || "0") > 0) flush(); }, FLUSH_EVERY_MS);

  // The camera: loaded only here (and on /scan), prepared at once so it also works after the signal drops.
  const camera = await import("./camera.js");
  const root = $("audit-camera");
  new camera.CameraScanner(root, {
    autoStart: sessionStorage.getItem("camera-on") === "1",
    onScan: (value, scan) => {
      if (!state) {
        const where = findRoom(value);
        if (where) startAudit(where);
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
