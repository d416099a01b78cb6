// The offline outbox: each field action is an event kept in IndexedDB until POST /api/v1/sync acknowledges it.
// Shared by the pages (app.js, scan.js and other features) and the service worker (Background Sync), so it never
// touches the DOM. Also keeps the offline pack (a campus's rooms and devices) for lookups without a signal.
//
// For other features: `await enqueue("loan.checkout", {asset, person})` records an event (it is in IndexedDB when
// the promise resolves, so the page may say "recorded"), then call `flush()`. Listen on the BroadcastChannel
// CHANNEL for {type: "results", results} to show what the server said about each event id.

const DB_NAME = "rollcall";
const DB_VERSION = 1;
/** Events per request; the server takes at most 500 events or 1 MB. */
const BATCH = 200;
const MAX_BYTES = 900_000;
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
    req.onsuccess = () => resolve(req.result);
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
 * Events waiting to be sent, oldest first (only those recorded by `user` when given).
 * @param {string | null} [user]
 * @param {number} [limit]
 * @returns {Promise<OutboxEvent[]>}
 */
export async function waiting(user = null, limit = Infinity) {
  const db = await openDb();
  const store = db.transaction("outbox").objectStore("outbox");
  /** @type {OutboxEvent[]} */
  const out = [];
  return new Promise((resolve, reject) => {
    const req = store.openCursor();
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const cursor = req.result;
      if (!cursor || out.length >= limit) return resolve(out);
      if (user === null || cursor.value.user === user) out.push(cursor.value);
      cursor.continue();
    };
  });
}

/** How many events wait for the signed-in user. */
export async function pendingCount() {
  const user = await getMeta("user");
  if (!user) return 0;
  return (await waiting(user)).length;
}

/** The events the server refused, with its reasons. */
export async function rejectedList() {
  const db = await openDb();
  const items = await done(db.transaction("rejected").objectStore("rejected").getAll());
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
 * Apply the server's answers: applied and duplicate events leave the outbox, rejected ones move to the list.
 * @param {OutboxEvent[]} sent
 * @param {SyncResult[]} results
 */
async function settle(sent, results) {
  const byId = new Map(sent.map((e) => [e.id, e]));
  const db = await openDb();
  const tx = db.transaction(["outbox", "rejected"], "readwrite");
  const outbox = tx.objectStore("outbox");
  const rejected = tx.objectStore("rejected");
  for (const result of results) {
    const event = byId.get(result.id);
    if (!event) continue;
    if (result.status === "applied" || result.status === "duplicate") {
      outbox.delete(/** @type {number} */ (event.seq));
    } else if (result.status === "rejected") {
      outbox.delete(/** @type {number} */ (event.seq));
      rejected.put({ ...event, seq: undefined, reason: result.reason || "Refused.", rejected_at: new Date().toISOString() });
    }
  }
  await committed(tx);
}

/** @param {OutboxEvent[]} events */
function body(events, client) {
  return JSON.stringify({
    client_id: client,
    events: events.map(({ id, type, at, data }) => ({ id, type, at, data })),
  });
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
  const [user, csrf, client] = await Promise.all([getMeta("user"), getMeta("csrf"), clientId()]);
  /** @type {SyncResult[]} */
  const all = [];
  if (!user) return { sent: 0, state: "nouser", results: all };
  let size = BATCH;
  for (let round = 0; round < 100; round++) {
    let batch = await waiting(user, size);
    if (!batch.length) break;
    let payload = body(batch, client);
    while (payload.length > MAX_BYTES && batch.length > 1) {
      batch = batch.slice(0, Math.ceil(batch.length / 2));
      payload = body(batch, client);
    }
    let response;
    try {
      response = await fetch("/api/v1/sync", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf || "" },
        body: payload,
      });
    } catch {
      return { sent: all.length, state: "offline", results: all };
    }
    // 401: the session ended. 400 here means the CSRF token belongs to an old session. Keep everything.
    if (response.status === 401 || response.status === 400) {
      await setMeta("needs_signin", true);
      announce({ type: "signin" });
      return { sent: all.length, state: "signin", results: all };
    }
    if (response.status === 413 && batch.length > 1) {
      size = Math.max(1, Math.floor(batch.length / 2));
      continue;
    }
    if (response.status === 413) {
      await settle(batch, [{ id: batch[0].id, status: "rejected", reason: "Too large to send." }]);
      continue;
    }
    if (!response.ok) return { sent: all.length, state: "error", results: all };
    const answer = await response.json();
    const results = /** @type {SyncResult[]} */ (answer.results || []);
    await settle(batch, results);
    all.push(...results);
    announce({ type: "results", results });
  }
  announce({ type: "changed" });
  return { sent: all.length, state: "idle", results: all };
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
  if (response.status === 401) return "signin";
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
