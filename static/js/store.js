// The phone's database ("rollcall" in IndexedDB): its schema, opening it, and reading and writing its records. Shared
// by the pages and the service worker, so it never touches the DOM. The queue (outbox.js), the offline pack
// (pack.js) and the session's clean-up (session.js) are built on it.

const DB_NAME = "rollcall";
const DB_VERSION = 1;

/**
 * An event as the outbox keeps it: `seq` orders the queue, `user` is whoever recorded it (only they send it).
 * @typedef {{seq?: number, id: string, type: string, at: string, data: Record<string, any>, user: string}} OutboxEvent
 */
/**
 * An event the server refused (or the phone set aside), kept for the person to read until they dismiss it.
 * @typedef {OutboxEvent & {reason: string, rejected_at: string}} RejectedEvent
 */

/** @type {Promise<IDBDatabase> | null} */
let dbPromise = null;

/**
 * The stores: `outbox` (the queue, in order), `rejected` (refused events by id), `meta` (key → value: the session,
 * the queue's own state, a page's cached lists), and the offline pack's `assets`, `rooms` and `packs`.
 * @param {IDBDatabase} db
 */
function createSchema(db) {
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
}

/**
 * Open (and on first use create) the database.
 * @returns {Promise<IDBDatabase>}
 */
export function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => createSchema(req.result);
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
 * The result of a request, as a promise.
 * @template T
 * @param {IDBRequest<T>} req
 * @returns {Promise<T>}
 */
export function done(req) {
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

/**
 * Resolves when the transaction has committed, rejects when it fails or is aborted.
 * @param {IDBTransaction} tx
 * @returns {Promise<void>}
 */
export function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

/**
 * @param {string} key
 * @returns {Promise<any>}
 */
export async function getMeta(key) {
  const db = await openDb();
  return done(db.transaction("meta").objectStore("meta").get(key));
}

/**
 * Store a value under key; undefined or null deletes it.
 * @param {string} key
 * @param {any} value
 */
export async function setMeta(key, value) {
  const db = await openDb();
  const tx = db.transaction("meta", "readwrite");
  if (value === undefined || value === null) tx.objectStore("meta").delete(key);
  else tx.objectStore("meta").put(value, key);
  return committed(tx);
}

/**
 * Add an event at the back of the queue; resolves once it is stored.
 * @param {OutboxEvent} event
 */
export async function addEvent(event) {
  const db = await openDb();
  const tx = db.transaction("outbox", "readwrite");
  tx.objectStore("outbox").add(event);
  await committed(tx);
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

/**
 * The refused events, newest first.
 * @returns {Promise<RejectedEvent[]>}
 */
export async function rejectedEvents() {
  const db = await openDb();
  const items = (await done(db.transaction("rejected").objectStore("rejected").getAll())).filter(Boolean);
  return items.sort((a, b) => (a.rejected_at < b.rejected_at ? 1 : -1));
}

/** @param {string} id */
export async function deleteRejected(id) {
  const db = await openDb();
  const tx = db.transaction("rejected", "readwrite");
  tx.objectStore("rejected").delete(id);
  await committed(tx);
}
