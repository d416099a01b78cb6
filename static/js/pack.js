// The offline pack: a campus's rooms and devices kept on the phone (GET /api/v1/offline-pack), so a scan names its
// device and a room its expected devices without a signal. Rooms and devices only: the pack names no one.

import { foldCode, scannedValue } from "./codes.js";
import { committed, done, openDb } from "./store.js";
import { forgetSession } from "./session.js";

/**
 * A device as the pack keeps it (the campus added by the phone).
 * @typedef {{tag_code: string, asset_tag: string, serial: string, model: string, status: string,
 *   home_room: string | null, campus: string}} PackAsset
 * @typedef {{code: string, name: string, kind?: string, tag_code: string, active?: boolean, campus: string}} PackRoom
 * @typedef {{campus: string, name: string, etag: string | null, bytes: number, rooms: number, assets: number,
 *   fetched_at: string}} PackInfo
 */

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
  for (const store of [assets, rooms]) {
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
  /** @type {PackInfo} */
  const info = {
    campus: code,
    name: pack.campus.name,
    etag,
    bytes,
    rooms: pack.rooms.length,
    assets: pack.assets.length,
    fetched_at: new Date().toISOString(),
  };
  tx.objectStore("packs").put(info);
  await committed(tx);
}

/**
 * What is kept for a campus (sizes, when), or undefined.
 * @param {string} code
 * @returns {Promise<PackInfo | undefined>}
 */
export async function packInfo(code) {
  const db = await openDb();
  return done(db.transaction("packs").objectStore("packs").get(code));
}

/** @param {string} code */
async function touchPack(code) {
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
    await forgetSession().catch(() => {});
    return "signin";
  }
  if (!response.ok) return "error";
  const text = await response.text();
  await savePack(JSON.parse(text), { etag: response.headers.get("ETag"), bytes: text.length });
  return "updated";
}

/**
 * @param {IDBIndex | IDBObjectStore} source
 * @param {string} key
 */
function getFrom(source, key) {
  return done(source.get(key));
}

/**
 * The device a scanned value names in the kept packs (tag code, asset tag or serial), or undefined.
 * @param {string} text
 * @returns {Promise<PackAsset | undefined>}
 */
export async function findAsset(text) {
  const raw = scannedValue(text);
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
 * @returns {Promise<PackRoom | undefined>}
 */
export async function findRoom(text) {
  const raw = scannedValue(text);
  if (!raw) return undefined;
  const db = await openDb();
  const store = db.transaction("rooms").objectStore("rooms");
  return (await getFrom(store, raw.toUpperCase())) || (await getFrom(store.index("tag_code"), foldCode(raw))) || undefined;
}

/**
 * The devices whose home room is `code` in the kept packs (empty when the room's campus pack is not kept).
 * @param {string} code
 * @returns {Promise<PackAsset[]>}
 */
export async function roomAssets(code) {
  const db = await openDb();
  const tx = db.transaction(["rooms", "assets"]);
  const room = await done(tx.objectStore("rooms").get(code));
  if (!room) return [];
  const assets = await done(tx.objectStore("assets").index("campus").getAll(room.campus));
  return assets.filter((a) => a.home_room === code);
}
