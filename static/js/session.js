// The session on this phone: who is signed in (the outbox sends their events with their CSRF token), and what
// goes when the session does. On a shared Chromebook the next person must find nothing about anyone: when the
// person signs out, the session is found ended, or someone else signs in, the kept pages and every record naming
// people go; the outbox's pending events stay, to be sent when their author signs in again. Shared by the pages
// and the service worker, so it never touches the DOM.

import { committed, getMeta, openDb, setMeta } from "./store.js";

/**
 * The meta keys that are the outbox's own and survive a session: whose events wait (and the token to send them
 * with), this browser's id, and the queue's bookkeeping of event ids. Every other key (a page's cached list, such as
 * the loans desk's people of a campus, and the label of the session they were kept under) goes with the session.
 */
const KEPT_META = new Set(["user", "csrf", "client_id", "suspects", "retries", "needs_signin"]);
/** An audit's state on the phone (rooms and devices) stays with its events; the server's record of it names staff. */
const AUDIT_PREFIX = "audit:";

/**
 * Who is signed in on this page, the CSRF token the sync request needs (the worker reads them too), and the label
 * of the session (app/web/offline.py) the data kept from now on belongs to.
 * @param {{user: string, csrf: string, owner?: string}} session
 */
export async function setSession({ user, csrf, owner }) {
  await setMeta("user", user);
  await setMeta("csrf", csrf);
  if (owner) await setMeta("owner", owner);
  await setMeta("needs_signin", null);
}

/** Sign-out: the token goes; queued events stay and are sent when their author signs in again. */
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

/**
 * Delete what the phone holds about people, keeping the queue: cached lists of people, the refused events (their
 * data and the server's reasons can name a student), and the server's records of audits.
 */
export async function forgetPersonalData() {
  const db = await openDb();
  const tx = db.transaction(["meta", "rejected"], "readwrite");
  tx.objectStore("rejected").clear();
  const req = tx.objectStore("meta").openCursor();
  req.onsuccess = () => {
    const cursor = req.result;
    if (!cursor) return;
    const key = String(cursor.key);
    if (key.startsWith(AUDIT_PREFIX)) {
      if (cursor.value && cursor.value.server) cursor.update({ ...cursor.value, server: null });
    } else if (!KEPT_META.has(key)) {
      cursor.delete();
    }
    cursor.continue();
  };
  await committed(tx);
}

/** The session is over (signed out, found ended, or another person's begins): its pages and personal data go. */
export async function forgetSession() {
  await forgetPages();
  await forgetPersonalData();
}

/**
 * A response or page says the session is `owner`'s: what was kept under another session goes.
 * @param {string} owner
 */
export async function forgetPersonalDataNotOf(owner) {
  const kept = await getMeta("owner");
  if (kept && kept !== owner) await forgetPersonalData();
}
