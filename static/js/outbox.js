// The offline outbox: each field action is an event kept in IndexedDB until POST /api/v1/sync acknowledges it.
// Shared by the pages and the service worker (Background Sync), so it never touches the DOM. Its records live in
// store.js; the offline pack (rooms and devices for lookups without a signal) is pack.js.
//
// For a feature: `await enqueue("loan.checkout", {asset, person})` records an event (it is in IndexedDB when the
// promise resolves, so the page may say "recorded"); enqueue itself asks for Background Sync and schedules a flush,
// so every page's events are sent the same way. `onOutboxChange(message => ...)` hears every change, from any tab
// or the worker: {type: "results", results} says what the server said about each event id, {type: "set-aside"}
// that an event was put in the rejected list, {type: "signin"} that the session ended, {type: "changed"} anything
// else. An event the server cannot take (a request refused as a whole, or failing again alone while others go
// through) is set aside into the rejected list with the server's reason, so it never holds up the events behind it;
// one the server failed on internally, promising to take it later, stays and is tried again with backoff.

import { forgetSession } from "./session.js";
import { addEvent, committed, deleteRejected, done, getMeta, openDb, rejectedEvents, setMeta, waiting } from "./store.js";

export { waiting } from "./store.js";

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
/**
 * An event the server answered `rejected` with `retry` (it failed on it internally, and said it would take it
 * later) stays in the outbox and is sent again after 30 s, 2 min, then 8 min; failing the fourth time, it is set
 * aside. A fault that passes (a restart, a lock) is over by then; one that does not is the event's own.
 */
export const SERVER_FAILS = 4;
const LATER_MS = 30_000;
/** A request the server has not answered in this long is given up like a lost connection (the events wait). */
const SYNC_TIMEOUT_MS = 60_000;
/** A 429 is waited out (its Retry-After, at most this long) and tried again a few times before the flush stops. */
const RATE_LIMIT_TRIES = 3;
const RATE_LIMIT_MAX_WAIT_MS = 30_000;
/**
 * Refused events kept on the phone for the person to read: past this many the oldest are dropped (and counted),
 * and from REJECTED_WARN_AT on the list warns that this will happen.
 */
export const MAX_REJECTED = 200;
export const REJECTED_WARN_AT = 150;
export const CHANNEL = "rollcall-outbox";
export const SYNC_TAG = "rollcall-outbox";
const FLUSH_LOCK = "rollcall-outbox-flush";

/** @typedef {import("./store.js").OutboxEvent} OutboxEvent */
/** @typedef {import("./store.js").RejectedEvent} RejectedEvent */
/**
 * The server's answer for one event; "retry" is the phone's own word for a `rejected` answer that promised a later
 * try (info.retry), whose event stays in the outbox.
 * @typedef {{id: string, status: "applied" | "duplicate" | "rejected" | "retry", reason?: string,
 *   info?: Record<string, any>}} SyncResult
 */
/**
 * What the outbox tells the pages.
 * @typedef {{type: "changed"} | {type: "signin"} | {type: "results", results: SyncResult[]}
 *   | {type: "set-aside", count: number, reason: string}} OutboxMessage
 */
/** @typedef {{tries: number, at: number, reason: string}} Later */

// Telling the pages ------------------------------------------------------------------------------------------

/** @type {Set<(message: OutboxMessage) => void>} */
const listeners = new Set();
/** @type {BroadcastChannel | null} */
let channel = null;

/** @param {OutboxMessage} message */
function tell(message) {
  for (const listener of listeners) {
    try {
      listener(message);
    } catch (error) {
      // One page's broken handler must not keep the others from hearing.
      reportError(error);
    }
  }
}

/**
 * Call `callback` with every message about the outbox, from this page, other tabs and the worker. One channel per
 * page, however many parts of it listen. Returns a function that stops listening.
 * @param {(message: OutboxMessage) => void} callback
 * @returns {() => void}
 */
export function onOutboxChange(callback) {
  listeners.add(callback);
  if (!channel && typeof BroadcastChannel !== "undefined") {
    channel = new BroadcastChannel(CHANNEL);
    channel.addEventListener("message", (event) => {
      if (event.data && typeof event.data.type === "string") tell(event.data);
    });
  }
  return () => {
    listeners.delete(callback);
  };
}

/** @param {OutboxMessage} message */
function announce(message) {
  if (typeof BroadcastChannel === "undefined") {
    // No channel between contexts: this page at least hears its own news.
    tell(message);
    return;
  }
  // A channel of its own to post on: this page's listening channel, being another object, hears it too.
  const out = new BroadcastChannel(CHANNEL);
  out.postMessage(message);
  out.close();
}

// Recording ----------------------------------------------------------------------------------------------------

/** A stable id for this browser, sent with every batch. */
export async function clientId() {
  let id = await getMeta("client_id");
  if (!id) {
    id = crypto.randomUUID();
    await setMeta("client_id", id);
  }
  return id;
}

/**
 * Record an event; when the promise resolves it is safely in IndexedDB. Background Sync is asked for (the worker
 * sends it even if the page closes) and a flush is scheduled (this page sends it as soon as it can).
 * @param {string} type
 * @param {Record<string, any>} data
 * @returns {Promise<OutboxEvent>}
 */
export async function enqueue(type, data) {
  const user = (await getMeta("user")) || "";
  /** @type {OutboxEvent} */
  const event = { id: crypto.randomUUID(), type, at: new Date().toISOString(), data, user };
  await addEvent(event);
  askForPersistence();
  announce({ type: "changed" });
  registerBackgroundSync();
  requestFlush().catch(() => {});
  return event;
}

let persistenceAsked = false;
function askForPersistence() {
  // Pages have persist(); a worker's StorageManager does not.
  const storage = /** @type {StorageManager & {persist?: () => Promise<boolean>}} */ (navigator.storage);
  if (persistenceAsked || !(storage && storage.persist)) return;
  const persist = storage.persist.bind(storage);
  persistenceAsked = true;
  // Unsent work must survive storage pressure; the browser may still say no.
  storage.persisted().then((yes) => yes || persist()).catch(() => {});
}

/** Ask the browser to flush from the worker later, even if every page is closed (where it has Background Sync). */
async function registerBackgroundSync() {
  try {
    const container = navigator.serviceWorker;
    // `ready` never settles where no worker was registered: ask only when there is one.
    if (!container || !(await container.getRegistration())) return;
    const sync = /** @type {{register?: (tag: string) => Promise<void>} | undefined} */ (
      /** @type {any} */ (await container.ready).sync
    );
    if (sync && sync.register) await sync.register(SYNC_TAG);
  } catch {
    // Not offered here (or refused): the page's own triggers still flush.
  }
}

/** @type {Promise<FlushOutcome> | null} */
let queued = null;
/**
 * Flush as soon as the outbox is free: a flush running now (here, in another tab or in the worker) may have read
 * the queue, or met the network, before the latest change, so this one waits its turn rather than answering
 * "busy". At most one waits; whoever asks meanwhile shares its outcome.
 * @returns {Promise<FlushOutcome>}
 */
export function requestFlush() {
  if (!queued) {
    const next = flush({ wait: true, onStart: () => (queued = null) });
    queued = next;
    next.catch(() => {
      if (queued === next) queued = null;
    });
  }
  return queued;
}

// Reading ------------------------------------------------------------------------------------------------------

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

/**
 * The events the server refused, with its reasons, newest first.
 * @returns {Promise<RejectedEvent[]>}
 */
export function rejectedList() {
  return rejectedEvents();
}

/** @param {string} id */
export async function dismissRejected(id) {
  await deleteRejected(id);
  announce({ type: "changed" });
}

// Settling the server's answers ----------------------------------------------------------------------------------

/**
 * Apply the server's answers: applied and duplicate events leave the outbox, rejected ones move to the list, which
 * keeps only the newest MAX_REJECTED. Events without a result (or with a "retry" one) stay.
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
      /** @type {RejectedEvent} */
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

/**
 * The top-level strings, numbers and booleans of an event's data (its tag, room, note...).
 * @param {Record<string, any>} data
 */
function plainFields(data) {
  /** @type {Record<string, any>} */
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
  /** @type {RejectedEvent[]} */
  const all = (await done(rejected.getAll())).filter(Boolean);
  if (all.length <= MAX_REJECTED) return;
  all.sort((a, b) => (a.rejected_at < b.rejected_at ? -1 : a.rejected_at > b.rejected_at ? 1 : 0));
  const drop = all.slice(0, all.length - MAX_REJECTED);
  for (const item of drop) rejected.delete(item.id);
  const before = (await done(meta.get("rejected_trimmed"))) || 0;
  meta.put(before + drop.length, "rejected_trimmed");
}

// Sending --------------------------------------------------------------------------------------------------------

/**
 * @param {OutboxEvent[]} events
 * @param {string} client
 */
function body(events, client) {
  return JSON.stringify({
    client_id: client,
    events: events.map(({ id, type, at, data }) => ({ id, type, at, data })),
  });
}

/**
 * The request's size in bytes; Infinity for events this browser cannot write out as JSON (too deep).
 * @param {OutboxEvent[]} events
 * @param {string} client
 */
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
 *   misses: number, suspects: Record<string, string>, later: Record<string, Later>}} FlushContext
 * `delivered`: the server applied something in this flush; `healthy`: it answered an empty batch, so it is up and
 * failing on these events; `misses`: pieces it failed on before applying anything; `suspects`: event id → the
 * server's reason when it failed on that event alone; `later`: event id → its failed tries and when to send it
 * again (both kept in meta between flushes).
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
 * A `rejected` answer the server means to take later: it failed on the event internally.
 * @param {SyncResult} result
 */
function promisesRetry(result) {
  return result.status === "rejected" && Boolean(result.info && result.info.retry === true);
}

/**
 * Settle a batch the server answered. An answer promising a later try keeps its event in the outbox until its time
 * comes (counting the tries); after SERVER_FAILS of them it is set aside like a refusal.
 * @param {OutboxEvent[]} batch
 * @param {SyncResult[]} results
 * @param {FlushContext} ctx
 */
async function accept(batch, results, ctx) {
  const now = Date.now();
  /** @type {SyncResult[]} */
  const told = [];
  let gaveUp = 0;
  for (const result of results) {
    if (!promisesRetry(result)) {
      delete ctx.later[result.id];
      told.push(result);
      continue;
    }
    const tries = ((ctx.later[result.id] && ctx.later[result.id].tries) || 0) + 1;
    const reason = result.reason || "The server could not apply this event.";
    if (tries >= SERVER_FAILS) {
      delete ctx.later[result.id];
      const why = `The server could not apply this event (${tries} tries); set aside so the rest could be sent.`;
      told.push({ id: result.id, status: "rejected", reason: why });
      gaveUp += 1;
    } else {
      ctx.later[result.id] = { tries, at: now + LATER_MS * 4 ** (tries - 1), reason };
      told.push({ id: result.id, status: "retry", reason });
    }
  }
  await settle(batch, told);
  for (const event of batch) delete ctx.suspects[event.id];
  ctx.results.push(...told);
  if (told.some((r) => r.status !== "retry")) ctx.delivered = true;
  announce({ type: "results", results: told });
  if (gaveUp) announce({ type: "set-aside", count: gaveUp, reason: "The server failed on it several times." });
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
  delete ctx.later[event.id];
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
 * @typedef {"idle" | "later" | "offline" | "signin" | "error" | "busy" | "nouser"} FlushState
 * `later`: nothing more can be sent now, but events wait for the time of their next try.
 * @typedef {{sent: number, state: FlushState, results: SyncResult[]}} FlushOutcome
 */

/**
 * Send waiting events in batches until none wait or something stops us. One flush at a time per browser
 * (Web Locks), so a page and the worker do not send the same batch twice (the server would only say duplicate):
 * while another runs this one answers "busy", or with `wait` queues behind it.
 * @param {{wait?: boolean, onStart?: () => void}} [options]
 * @returns {Promise<FlushOutcome>}
 */
export async function flush({ wait = false, onStart = () => {} } = {}) {
  const run = () => {
    onStart();
    return flushNow();
  };
  if (navigator.locks && navigator.locks.request) {
    if (wait) return navigator.locks.request(FLUSH_LOCK, run);
    return navigator.locks.request(FLUSH_LOCK, { ifAvailable: true }, async (lock) =>
      lock ? run() : { sent: 0, state: /** @type {FlushState} */ ("busy"), results: [] },
    );
  }
  return run();
}

/**
 * Ids to leave out of this round: the suspects, and events whose next try has not come yet.
 * @param {FlushContext} ctx
 */
function notNow(ctx) {
  const now = Date.now();
  const skip = new Set(Object.keys(ctx.suspects));
  for (const [id, later] of Object.entries(ctx.later)) if (later.at > now) skip.add(id);
  return skip;
}

/** @returns {Promise<FlushOutcome>} */
async function flushNow() {
  const [user, csrf, client, suspects, later] = await Promise.all([
    getMeta("user"),
    getMeta("csrf"),
    clientId(),
    getMeta("suspects"),
    getMeta("retries"),
  ]);
  /** @type {FlushContext} */
  const ctx = {
    client,
    csrf: csrf || "",
    results: [],
    delivered: false,
    healthy: false,
    misses: 0,
    suspects: { ...(suspects || {}) },
    later: { ...(later || {}) },
  };
  if (!user) return { sent: 0, state: "nouser", results: ctx.results };
  /** @param {"idle" | "offline" | "signin" | "error"} state */
  const stop = async (state) => {
    // Forget the bookkeeping of events no longer queued (sent, set aside, or dismissed).
    const queued = await waiting().catch(() => null);
    const ids = queued ? new Set(queued.map((e) => e.id)) : null;
    const laterLeft = Object.fromEntries(Object.entries(ctx.later).filter(([id]) => !ids || ids.has(id)));
    await setMeta("suspects", Object.keys(ctx.suspects).length ? ctx.suspects : null);
    await setMeta("retries", Object.keys(laterLeft).length ? laterLeft : null);
    if (state === "signin") {
      await setMeta("needs_signin", true);
      // The session the kept pages and lists were fetched under is over: they go before anyone can open them.
      await forgetSession().catch(() => {});
      announce({ type: "signin" });
    }
    announce({ type: "changed" });
    /** @type {FlushState} */
    const final = state === "idle" && Object.keys(laterLeft).length ? "later" : state;
    return { sent: ctx.results.length, state: final, results: ctx.results };
  };
  for (let round = 0; round < 100; round++) {
    let batch = await waiting(user, BATCH, notNow(ctx));
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
