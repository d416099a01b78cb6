// The offline outbox: each field action is an event kept in IndexedDB until POST /api/v1/sync acknowledges it.
// Shared by the pages (app.js, scan.js and other features) and the service worker (Background Sync), so it never
// touches the DOM. Also keeps the offline pack (a campus's rooms and devices) for lookups without a signal.
//
// For other features: `await enqueue("loan.checkout", {asset, person})` records an event (it is in IndexedDB when
// the promise resolves, so the page may say "recorded"), then call `flush()`. Listen on the BroadcastChannel
// CHANNEL for {type: "results", results} to show what the server said about each event id. An event the server
// cannot take (a request refused as a whole, or failing again alone while others go through) is set aside into the
// rejected list with the server's reason, so it never holds up the events behind it ({type: "set-aside"}).

const DB_NAME = "rollcall";
const DB_VERSION = 1;
/** Events per request; the server takes at most 500 events or 1 MB. */
const BATCH = 200;
const MAX_BYTES = 900_000;
/**
 * A batch our server failed on (a 5xx with its JSON error body) is tried this many times, waiting 1 s then 2 s,
 * before it is halved: a passing fault (a worker restarting, a lock wait running out) seldom fails three times in a
 * row over those seconds, while a batch the server cannot process fails every time. Its halves are tried once
 * each (the passing-fault question was asked of the whole), down to the events at fault.
 */
const SERVER_TRIES = 3;
const RETRY_MS = 1000;
/**
 * An event the server failed on alone is only a suspect: it waits at the back and is set aside when it fails
 * again alone while the server applies others. Until the server has applied something in a flush, at most this
 * many suspects are tried (one request each), and at most BLIND_PIECES pieces of a batch, so that a server
 * failing on every write is not asked about every piece of the queue at once; the next flush goes on from there.
 */
const BLIND_TRIES = 3;
const BLIND_PIECES = 16;
/** A request the server has not answered in this long is given up like a lost connection (the events wait). */
const SYNC_TIMEOUT_MS = 60_000;
/** A 429 is waited out (its Retry-After, at most this long) and tried again a few times before the flush stops. */
const RATE_LIMIT_TRIES = 3;
const RATE_LIMIT_MAX_WAIT_MS = 30_000;
/** Refused events kept on the phone for the person to read; older ones beyond this are dropped (and counted). */
export const MAX_REJECTED = 200;
export const CHANNEL = "rollcall-outbox";
export const SYNC_TAG = "rollcall-outbox";

/** @typedef {{seq?: number, id: string, type: string, at: string, data: Object<string, any>, user: string}} OutboxEvent */
/** @typedef {{id: string, status: "applied" | "duplicate" | "rejected", reason?: string, info?: Object<string, any>}} SyncResult */

/** @type {Promise<IDBDatabase> | null} */
let dbPromise = null;

/** Open (and on first use create) the database. */
export function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        const outbox = db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
        outbox.createIndex("id", "id", { unique: true });
        db.createObjectStore("rejected", { keyPath: "id" });
        db.createObjectStore("meta");
        const assets = db.createObjectStore("assets", { keyPath: "tag_code" });
        assets.createIndex("asset_tag", "asset_tag");
        assets.createIndex("serial", "serial");
        assets.createIndex("campus", "campus");
        const rooms = db.createObjectStore("rooms", { keyPath: "code" });
        rooms.createIndex("tag_code", "tag_code");
        rooms.createIndex("campus", "campus");
        db.createObjectStore("packs", { keyPath: "campus" });
      };
      req.onsuccess = () => {
        const db = req.result;
        // Another tab (or a newer worker) wants to upgrade: step aside rather than block it.
        db.onversionchange = () => {
          db.close();
          dbPromise = null;
        };
        resolve(db);
      };
      req.onerror = () => {
        dbPromise = null;
        reject(req.error);
      };
    });
  }
  return dbPromise;
}

/**
 * @template T
 * @param {IDBRequest<T>} req
 * @returns {Promise<T>}
 */
function done(req) {
  return new Promise((resolve, reject) => {
    // Reading a result copies it out of the database, which can throw (data nested deeper than a worker's stack
    // allows); thrown inside the callback it would leave the promise, and a flush holding the lock, hanging.
    req.onsuccess = () => {
      try {
        resolve(req.result);
      } catch (error) {
        reject(error);
      }
    };
    req.onerror = () => reject(req.error);
  });
}

/** @param {IDBTransaction} tx */
function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

/** @param {string} key */
export async function getMeta(key) {
  const db = await openDb();
  return done(db.transaction("meta").objectStore("meta").get(key));
}

/** @param {string} key @param {any} value */
export async function setMeta(key, value) {
  const db = await openDb();
  const tx = db.transaction("meta", "readwrite");
  if (value === undefined || value === null) tx.objectStore("meta").delete(key);
  else tx.objectStore("meta").put(value, key);
  return committed(tx);
}

/** Who is signed in on this page and the CSRF token the sync request needs (the worker reads them too). */
export async function setSession({ user, csrf }) {
  await setMeta("user", user);
  await setMeta("csrf", csrf);
  await setMeta("needs_signin", null);
}

/** Forget the session (sign-out); queued events stay and are sent when their author signs in again. */
export async function clearSession() {
  await setMeta("csrf", null);
}

/** Drop every page the worker kept: they belong to the session that fetched them, which has ended. */
export async function forgetPages() {
  if (typeof caches === "undefined") return;
  for (const name of await caches.keys()) {
    if (name.startsWith("rollcall-pages-")) await caches.delete(name);
  }
}

/** A stable id for this browser, sent with every batch. */
export async function clientId() {
  let id = await getMeta("client_id");
  if (!id) {
    id = crypto.randomUUID();
    await setMeta("client_id", id);
  }
  return id;
}

function announce(message) {
  try {
    const channel = new BroadcastChannel(CHANNEL);
    channel.postMessage(message);
    channel.close();
  } catch {
    // Browsers without BroadcastChannel still update their own page through the returned values.
  }
}

/**
 * Record an event; when the promise resolves it is safely in IndexedDB.
 * @param {string} type
 * @param {Object<string, any>} data
 * @returns {Promise<OutboxEvent>}
 */
export async function enqueue(type, data) {
  const user = (await getMeta("user")) || "";
  /** @type {OutboxEvent} */
  const event = { id: crypto.randomUUID(), type, at: new Date().toISOString(), data, user };
  const db = await openDb();
  const tx = db.transaction("outbox", "readwrite");
  tx.objectStore("outbox").add(event);
  await committed(tx);
  askForPersistence();
  announce({ type: "changed" });
  return event;
}

let persistenceAsked = false;
function askForPersistence() {
  if (persistenceAsked || !(navigator.storage && navigator.storage.persist)) return;
  persistenceAsked = true;
  // Unsent work must survive storage pressure; the browser may still say no.
  navigator.storage.persisted().then((yes) => yes || navigator.storage.persist()).catch(() => {});
}

/**
 * Events waiting to be sent, oldest first (only those recorded by `user` when given, leaving out `skip`'s ids).
 * @param {string | null} [user]
 * @param {number} [limit]
 * @param {Set<string> | null} [skip]
 * @returns {Promise<OutboxEvent[]>}
 */
export async function waiting(user = null, limit = Infinity, skip = null) {
  const db = await openDb();
  const store = db.transaction("outbox").objectStore("outbox");
  /** @type {OutboxEvent[]} */
  const out = [];
  return new Promise((resolve, reject) => {
    const req = store.openCursor();
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      try {
        const cursor = req.result;
        if (!cursor || out.length >= limit) return resolve(out);
        // A service worker's smaller stack may fail to copy deeply nested data out: the value reads as null (or
        // throws, see done()). Such an event is left for the page, which can read it, to send or set aside.
        const event = cursor.value;
        if (event && (user === null || event.user === user) && !(skip && skip.has(event.id))) out.push(event);
        cursor.continue();
      } catch (error) {
        reject(error);
      }
    };
  });
}

/** How many events wait for the signed-in user. */
export async function pendingCount() {
  const user = await getMeta("user");
  if (!user) return 0;
  return (await waiting(user)).length;
}

/** How many refused events were dropped from the phone to keep the list at MAX_REJECTED. */
export async function rejectedTrimmed() {
  return (await getMeta("rejected_trimmed")) || 0;
}

/** The events the server refused, with its reasons. */
export async function rejectedList() {
  const db = await openDb();
  const items = (await done(db.transaction("rejected").objectStore("rejected").getAll())).filter(Boolean);
  return items.sort((a, b) => (a.rejected_at < b.rejected_at ? 1 : -1));
}

/** @param {string} id */
export async function dismissRejected(id) {
  const db = await openDb();
  const tx = db.transaction("rejected", "readwrite");
  tx.objectStore("rejected").delete(id);
  await committed(tx);
  announce({ type: "changed" });
}

/**
 * Apply the server's answers: applied and duplicate events leave the outbox, rejected ones move to the list, which
 * keeps only the newest MAX_REJECTED.
 * @param {OutboxEvent[]} sent
 * @param {SyncResult[]} results
 */
async function settle(sent, results) {
  const byId = new Map(sent.map((e) => [e.id, e]));
  const db = await openDb();
  const tx = db.transaction(["outbox", "rejected", "meta"], "readwrite");
  const outbox = tx.objectStore("outbox");
  const rejected = tx.objectStore("rejected");
  let refused = 0;
  for (const result of results) {
    const event = byId.get(result.id);
    if (!event) continue;
    if (result.status === "applied" || result.status === "duplicate") {
      outbox.delete(/** @type {number} */ (event.seq));
    } else if (result.status === "rejected") {
      const entry = { ...event, seq: undefined, reason: result.reason || "Refused.", rejected_at: new Date().toISOString() };
      try {
        rejected.put(entry);
      } catch {
        // Data this browser can queue but not copy again (nested too deep): keep what the list shows.
        rejected.put({ ...entry, data: plainFields(event.data) });
      }
      outbox.delete(/** @type {number} */ (event.seq));
      refused += 1;
    }
  }
  if (refused) await trimRejected(rejected, tx.objectStore("meta"));
  await committed(tx);
}

/** The top-level strings, numbers and booleans of an event's data (its tag, room, note...). */
function plainFields(data) {
  /** @type {Object<string, any>} */
  const out = {};
  for (const [key, value] of Object.entries(data || {})) {
    if (["string", "number", "boolean"].includes(typeof value)) out[key] = value;
  }
  return out;
}

/**
 * Keep the newest MAX_REJECTED refused events (a phone left to fail for weeks must not fill its storage) and
 * count what was dropped, so the list can say so.
 * @param {IDBObjectStore} rejected
 * @param {IDBObjectStore} meta
 */
async function trimRejected(rejected, meta) {
  const all = (await done(rejected.getAll())).filter(Boolean);
  if (all.length <= MAX_REJECTED) return;
  all.sort((a, b) => (a.rejected_at < b.rejected_at ? -1 : a.rejected_at > b.rejected_at ? 1 : 0));
  const drop = all.slice(0, all.length - MAX_REJECTED);
  for (const item of drop) rejected.delete(item.id);
  const before = (await done(meta.get("rejected_trimmed"))) || 0;
  meta.put(before + drop.length, "rejected_trimmed");
}

/** @param {OutboxEvent[]} events */
function body(events, client) {
  return JSON.stringify({
    client_id: client,
    events: events.map(({ id, type, at, data }) => ({ id, type, at, data })),
  });
}

/** The request's size in bytes; Infinity for events this browser cannot write out as JSON (too deep). */
function sizeOf(events, client) {
  try {
    return new TextEncoder().encode(body(events, client)).length;
  } catch {
    return Infinity;
  }
}

/** @param {number} ms */
function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * What one request came back with.
 * @typedef {{kind: "ok", results: SyncResult[]}
 *   | {kind: "refused", reason: string}
 *   | {kind: "failed", reason: string}
 *   | {kind: "limited", wait: number}
 *   | {kind: "offline" | "signin" | "error"}} Answer
 */

/**
 * The `error` of our server's JSON error body, or null for anything else (a proxy's page, an empty body).
 * @param {Response} response
 * @returns {Promise<{code?: string, message?: string} | null>}
 */
async function errorBody(response) {
  if (!(response.headers.get("Content-Type") || "").includes("application/json")) return null;
  try {
    const answer = await response.json();
    return answer && typeof answer.error === "object" && answer.error ? answer.error : null;
  } catch {
    return null;
  }
}

/**
 * POST one batch and sort the answer into what the flush does next.
 * @param {OutboxEvent[]} batch
 * @param {{client: string, csrf: string}} session
 * @returns {Promise<Answer>}
 */
async function post(batch, { client, csrf }) {
  let payload;
  try {
    payload = body(batch, client);
  } catch {
    return { kind: "refused", reason: "This could not be written out to send." };
  }
  let response;
  try {
    response = await fetch("/api/v1/sync", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf || "" },
      body: payload,
      // Never wait for ever: the flush holds the outbox's lock while it waits.
      signal: AbortSignal.timeout ? AbortSignal.timeout(SYNC_TIMEOUT_MS) : undefined,
    });
  } catch {
    // No answer at all: offline, or the server unreachable. Nothing is wrong with the events; they wait.
    return { kind: "offline" };
  }
  if (response.ok) {
    try {
      const answer = await response.json();
      return { kind: "ok", results: /** @type {SyncResult[]} */ (answer.results || []) };
    } catch {
      return { kind: "error" };
    }
  }
  // 401: the session ended. Keep everything for its author's next sign-in.
  if (response.status === 401) return { kind: "signin" };
  const error = await errorBody(response);
  // A CSRF token from an ended session (its cookie is gone) is the same story, not a bad batch.
  if (response.status === 400 && (!error || error.code === "csrf")) return { kind: "signin" };
  if (response.status === 429) {
    const seconds = Number(response.headers.get("Retry-After"));
    const wait = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : RETRY_MS * 5;
    return { kind: "limited", wait: Math.min(wait, RATE_LIMIT_MAX_WAIT_MS) };
  }
  // The server refused the request as a whole: it is too big, or it cannot be read as a batch.
  if (response.status === 413) return { kind: "refused", reason: (error && error.message) || "Too large to send." };
  if ((response.status === 400 || response.status === 422) && error) {
    return { kind: "refused", reason: error.message || "The server could not read this." };
  }
  // Our own server failed on it (its JSON error says so); a proxy's 502 page says only that the server is away.
  if (response.status >= 500 && error) {
    return { kind: "failed", reason: error.message || "The server could not process this." };
  }
  return { kind: "error" };
}

/**
 * @typedef {{client: string, csrf: string, results: SyncResult[], delivered: boolean, healthy: boolean,
 *   misses: number, suspects: Record<string, string>}} FlushContext
 * `delivered`: the server applied something in this flush; `healthy`: it answered an empty batch, so it is up and
 * failing on these events; `misses`: pieces it failed on before applying anything; `suspects`: event id → the
 * server's reason when it failed on that event alone (kept in meta between flushes).
 */

/**
 * Send a batch, trying again what passing trouble may explain; one the server refuses or fails on as a whole is
 * halved and each half sent on its own, down to the one event at fault, so the events beside it go through.
 * @param {OutboxEvent[]} batch
 * @param {FlushContext} ctx
 * @param {number} tries
 * @returns {Promise<"done" | "offline" | "signin" | "error">}
 */
async function deliver(batch, ctx, tries = SERVER_TRIES) {
  /** @type {Answer} */
  let answer;
  for (let attempt = 1; ; attempt++) {
    answer = await post(batch, ctx);
    if (answer.kind === "limited" && attempt < RATE_LIMIT_TRIES) await pause(answer.wait);
    else if (answer.kind === "failed" && attempt < tries) await pause(RETRY_MS * 2 ** (attempt - 1));
    else break;
  }
  if (answer.kind === "ok") {
    await accept(batch, answer.results, ctx);
    return "done";
  }
  if (answer.kind === "failed" && !ctx.delivered && tries === 1 && ++ctx.misses > BLIND_PIECES) return "error";
  if (answer.kind === "failed" && !ctx.delivered && !ctx.healthy) {
    // Before taking the batch apart, ask whether the server works at all: an empty batch touches no event. If that
    // fails too, the trouble is the server's (down, its database away) and the queue waits whole.
    const probe = await post([], ctx);
    if (probe.kind !== "ok") return probe.kind === "offline" || probe.kind === "signin" ? probe.kind : "error";
    ctx.healthy = true;
  }
  if (answer.kind === "refused" || answer.kind === "failed") {
    if (batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      const first = await deliver(batch.slice(0, half), ctx, 1);
      return first === "done" ? deliver(batch.slice(half), ctx, 1) : first;
    }
    // A refusal is the server's word on this request. A failure may still be passing trouble: the event becomes a
    // suspect, sent alone after the others (see flushNow) and set aside only if it fails again while they go.
    if (answer.kind === "refused") await setAside(batch[0], answer.reason, ctx);
    else ctx.suspects[batch[0].id] = answer.reason;
    return "done";
  }
  return answer.kind === "limited" ? "error" : answer.kind;
}

/**
 * @param {OutboxEvent[]} batch
 * @param {SyncResult[]} results
 * @param {FlushContext} ctx
 */
async function accept(batch, results, ctx) {
  await settle(batch, results);
  for (const event of batch) delete ctx.suspects[event.id];
  ctx.results.push(...results);
  ctx.delivered = true;
  announce({ type: "results", results });
}

/**
 * Move one event from the outbox to the rejected list with the reason, and tell the pages.
 * @param {OutboxEvent} event
 * @param {string} reason
 * @param {FlushContext} ctx
 */
async function setAside(event, reason, ctx) {
  /** @type {SyncResult} */
  const result = { id: event.id, status: "rejected", reason };
  await settle([event], [result]);
  delete ctx.suspects[event.id];
  ctx.results.push(result);
  announce({ type: "results", results: [result] });
  announce({ type: "set-aside", count: 1, reason });
}

/**
 * Send the suspects, each alone and oldest first. One that fails again once the server has applied something in
 * this flush is the event's own fault and is set aside; before that, failures only count towards stopping.
 * @param {OutboxEvent[]} events
 * @param {FlushContext} ctx
 * @returns {Promise<"done" | "offline" | "signin" | "error">}
 */
async function retrySuspects(events, ctx) {
  let blind = 0;
  for (const event of events) {
    const answer = await post([event], ctx);
    if (answer.kind === "ok") await accept([event], answer.results, ctx);
    else if (answer.kind === "refused") await setAside(event, answer.reason, ctx);
    else if (answer.kind === "failed" && ctx.delivered) await setAside(event, answer.reason, ctx);
    else if (answer.kind === "failed") {
      if (++blind >= BLIND_TRIES) return "done";
    } else return answer.kind === "limited" ? "error" : answer.kind;
  }
  return "done";
}

/**
 * Send waiting events in batches until none wait or something stops us. One flush at a time per browser
 * (Web Locks), so a page and the worker do not send the same batch twice (the server would only say duplicate).
 * @returns {Promise<{sent: number, state: "idle" | "offline" | "signin" | "error" | "busy" | "nouser", results: SyncResult[]}>}
 */
export async function flush() {
  if (navigator.locks && navigator.locks.request) {
    return navigator.locks.request("rollcall-outbox-flush", { ifAvailable: true }, async (lock) =>
      lock ? flushNow() : { sent: 0, state: "busy", results: [] },
    );
  }
  return flushNow();
}

async function flushNow() {
  const [user, csrf, client, suspects] = await Promise.all([
    getMeta("user"),
    getMeta("csrf"),
    clientId(),
    getMeta("suspects"),
  ]);
  /** @type {FlushContext} */
  const ctx = { client, csrf: csrf || "", results: [], delivered: false, healthy: false, misses: 0, suspects: { ...(suspects || {}) } };
  if (!user) return { sent: 0, state: "nouser", results: ctx.results };
  /** @param {"idle" | "offline" | "signin" | "error"} state */
  const stop = async (state) => {
    await setMeta("suspects", Object.keys(ctx.suspects).length ? ctx.suspects : null);
    if (state === "signin") {
      await setMeta("needs_signin", true);
      // The session the kept pages were fetched under is over: they go before anyone can open them offline.
      await forgetPages().catch(() => {});
      announce({ type: "signin" });
    }
    announce({ type: "changed" });
    return { sent: ctx.results.length, state, results: ctx.results };
  };
  for (let round = 0; round < 100; round++) {
    let batch = await waiting(user, BATCH, new Set(Object.keys(ctx.suspects)));
    if (batch.length) {
      while (batch.length > 1 && sizeOf(batch, client) > MAX_BYTES) {
        batch = batch.slice(0, Math.ceil(batch.length / 2));
      }
      const outcome = await deliver(batch, ctx);
      if (outcome !== "done") return stop(outcome);
      continue;
    }
    // Only suspects are left (those still in the outbox: dismissed or applied ones are forgotten).
    const left = (await waiting(user)).filter((e) => e.id in ctx.suspects);
    ctx.suspects = Object.fromEntries(left.map((e) => [e.id, ctx.suspects[e.id]]));
    if (!left.length) break;
    const before = ctx.results.length;
    const outcome = await retrySuspects(left, ctx);
    if (outcome !== "done") return stop(outcome);
    // Nothing went through and nothing was set aside: the server is failing; they wait for the next flush.
    if (ctx.results.length === before) return stop("error");
  }
  return stop("idle");
}

// Offline pack ----------------------------------------------------------------------------------------------

/**
 * Store a campus's pack, replacing what was kept for it.
 * @param {{campus: {code: string, name: string}, rooms: Array<Object>, assets: Array<Object>}} pack
 * @param {{etag: string | null, bytes: number}} meta
 */
export async function savePack(pack, { etag, bytes }) {
  const code = pack.campus.code;
  const db = await openDb();
  const tx = db.transaction(["assets", "rooms", "packs"], "readwrite");
  const assets = tx.objectStore("assets");
  const rooms = tx.objectStore("rooms");
  for (const [store] of [[assets], [rooms]]) {
    const req = store.index("campus").openKeyCursor(IDBKeyRange.only(code));
    req.onsuccess = () => {
      const cursor = req.result;
      if (!cursor) return;
      store.delete(cursor.primaryKey);
      cursor.continue();
    };
  }
  for (const room of pack.rooms) rooms.put({ ...room, campus: code });
  for (const asset of pack.assets) assets.put({ ...asset, campus: code });
  tx.objectStore("packs").put({
    campus: code,
    name: pack.campus.name,
    etag,
    bytes,
    rooms: pack.rooms.length,
    assets: pack.assets.length,
    fetched_at: new Date().toISOString(),
  });
  await committed(tx);
}

/** @param {string} code */
export async function packInfo(code) {
  const db = await openDb();
  return done(db.transaction("packs").objectStore("packs").get(code));
}

/** @param {string} code */
export async function touchPack(code) {
  const info = await packInfo(code);
  if (!info) return;
  const db = await openDb();
  const tx = db.transaction("packs", "readwrite");
  tx.objectStore("packs").put({ ...info, fetched_at: new Date().toISOString() });
  await committed(tx);
}

/**
 * Fetch a campus's pack (If-None-Match the copy we have) and keep it. Returns what changed.
 * @param {string} code
 * @returns {Promise<"updated" | "unchanged" | "offline" | "signin" | "error">}
 */
export async function refreshPack(code) {
  const info = await packInfo(code);
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (info && info.etag) headers["If-None-Match"] = info.etag;
  let response;
  try {
    response = await fetch(`/api/v1/offline-pack?campus=${encodeURIComponent(code)}`, {
      credentials: "same-origin",
      headers,
      cache: "no-store",
    });
  } catch {
    return "offline";
  }
  if (response.status === 304) {
    await touchPack(code);
    return "unchanged";
  }
  if (response.status === 401) {
    await forgetPages().catch(() => {});
    return "signin";
  }
  if (!response.ok) return "error";
  const text = await response.text();
  await savePack(JSON.parse(text), { etag: response.headers.get("ETag"), bytes: text.length });
  return "updated";
}

/** Fold a typed or scanned code like the server does: case, look-alike letters, spaces and dashes. */
export function foldCode(text) {
  return (text || "")
    .replace(/[\s\-_.]+/g, "")
    .toUpperCase()
    .replace(/O/g, "0")
    .replace(/[IL]/g, "1")
    .replace(/U/g, "V");
}

/** The value a scanned text names: our QR tags hold BASE_URL/t/<code>. */
export function valueOf(text) {
  const raw = (text || "").trim();
  const at = raw.lastIndexOf("/t/");
  return at >= 0 ? raw.slice(at + 3).split(/[?#/]/)[0] : raw;
}

/** @param {IDBIndex | IDBObjectStore} source @param {string} key */
function getFrom(source, key) {
  return done(source.get(key));
}

/**
 * The device a scanned value names in the kept packs (tag code, asset tag or serial), or undefined.
 * @param {string} text
 */
export async function findAsset(text) {
  const raw = valueOf(text);
  if (!raw) return undefined;
  const db = await openDb();
  const store = db.transaction("assets").objectStore("assets");
  const folded = foldCode(raw);
  return (
    (folded.length === 10 && (await getFrom(store, folded))) ||
    (await getFrom(store.index("asset_tag"), raw)) ||
    (await getFrom(store.index("asset_tag"), raw.toUpperCase())) ||
    (await getFrom(store.index("serial"), raw.toUpperCase())) ||
    (await getFrom(store.index("serial"), raw)) ||
    undefined
  );
}

/**
 * The room a scanned value names in the kept packs (room code or the room sticker's tag code), or undefined.
 * @param {string} text
 */
export async function findRoom(text) {
  const raw = valueOf(text);
  if (!raw) return undefined;
  const db = await openDb();
  const store = db.transaction("rooms").objectStore("rooms");
  return (await getFrom(store, raw.toUpperCase())) || (await getFrom(store.index("tag_code"), foldCode(raw))) || undefined;
}

/**
 * The devices whose home room is `code` in the kept packs (empty when the room's campus pack is not kept).
 * @param {string} code
 */
export async function roomAssets(code) {
  const db = await openDb();
  const tx = db.transaction(["rooms", "assets"]);
  const room = await done(tx.objectStore("rooms").get(code));
  if (!room) return [];
  const assets = await done(tx.objectStore("assets").index("campus").getAll(room.campus));
  return assets.filter((a) => a.home_room === code);
}
