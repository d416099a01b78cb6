// Rollcall's service worker, served at /sw.js (scope /) with its version and shell list filled in by the server.
// Registered as a module worker so it shares the outbox code with the pages (Background Sync flushes it).
// Navigations: network first with a timeout, then the kept page, then /offline. Static files: cache first.
// A page is kept only when the server marks it (X-Rollcall-Offline: keep, pages without anyone's personal data),
// and it belongs to the session it was fetched under (X-Rollcall-Owner): every kept page, and every record in
// IndexedDB naming people (session.js), is dropped when a response shows that session ended or another user signed
// in, and offline when the session's cookie is gone (a closed browser, a lapsed session), before any kept page is
// served. The sign-in page alone is kept signed out (it shows no one's data), so a phone restarted without a signal
// can still say what waits to be sent. Never cached: anything but GET, /api/, fragments.

import { flush, SYNC_TAG } from "/static/js/outbox.js";
import { forgetPersonalDataNotOf, forgetSession } from "/static/js/session.js";

/** This script runs as a service worker: its global scope, typed as one. */
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));
const VERSION = "__VERSION__";
const SHELL = ["__SHELL__"];
const STATIC_CACHE = `rollcall-static-${VERSION}`;
const PAGES_CACHE = `rollcall-pages-${VERSION}`;
const OFFLINE_URL = "/offline";
/** Kept as a signed-out visitor sees it, in the static cache: it belongs to no session (signin.js refreshes its token). */
const SIGN_IN_URL = "/login";
/** Pages kept ready for use without a signal, beyond the ones a person has opened. */
const WARM_PAGES = ["/scan", "/audits/live"];
/** A slow network loses to the cached copy after this long. */
const NAV_TIMEOUT_MS = 4000;
/** Set by app/web/offline.py: which pages may be kept, whose session served them, and the session's cookie. */
const OFFLINE_HEADER = "X-Rollcall-Offline";
const OWNER_HEADER = "X-Rollcall-Owner";
const OWNER_COOKIE = "rollcall_offline";
const SIGNED_OUT = "-";

sw.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(STATIC_CACHE);
      await cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" })));
      await keepSignIn(cache);
      await warmPages();
    })(),
  );
});

sw.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const keep = new Set([STATIC_CACHE, PAGES_CACHE]);
      for (const name of await caches.keys()) {
        if (name.startsWith("rollcall-") && !keep.has(name)) await caches.delete(name);
      }
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener("message", (event) => {
  const type = event.data && event.data.type;
  if (type === "skip-waiting") sw.skipWaiting();
  else if (type === "signed-out") event.waitUntil(forgetSession());
  else if (type === "warm") event.waitUntil(warmPages(event.data.owner));
});

// Background Sync's event (not in TypeScript's worker types): an ExtendableEvent with the registration's tag.
sw.addEventListener("sync", (/** @type {any} */ sync) => {
  const event = /** @type {ExtendableEvent & {tag: string}} */ (sync);
  if (event.tag === SYNC_TAG) {
    event.waitUntil(
      flush().then((outcome) => {
        // Throwing asks the browser to try again later (also for events waiting for their next try); a missing
        // session will not fix itself, so don't.
        if (["offline", "error", "later"].includes(outcome.state)) throw new Error(outcome.state);
      }),
    );
  }
});

sw.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/sw.js") return;
  if (request.mode === "navigate") {
    event.respondWith(networkFirst(request, url));
  } else if (url.pathname.startsWith("/static/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(cacheFirst(request));
  }
  // Everything else (htmx fragments, downloads) goes to the network untouched.
});

/** @param {Request} request @param {URL} url */
async function networkFirst(request, url) {
  const network = fetch(request).then(async (response) => {
    await followSession(response);
    if (keepable(response)) await keep(url.href, response.clone());
    return response;
  });
  const timeout = new Promise((resolve) => setTimeout(resolve, NAV_TIMEOUT_MS, "timeout"));
  try {
    const first = await Promise.race([network, timeout]);
    if (first !== "timeout") return /** @type {Response} */ (first);
    const cached = (await keptPage(url)) || (await signInPage(url));
    return cached || (await network);
  } catch {
    const cached = (await keptPage(url)) || (await signInPage(url));
    if (cached) return cached;
    return (await caches.match(OFFLINE_URL)) || new Response("Offline", { status: 503 });
  }
}

/**
 * Keep the sign-in page as anyone signed out gets it (no cookies sent, so never a signed-in redirect).
 * @param {Cache} cache the static cache being filled
 */
async function keepSignIn(cache) {
  try {
    const response = await fetch(SIGN_IN_URL, { credentials: "omit", cache: "no-store" });
    if (response.ok && !response.redirected) await cache.put(SIGN_IN_URL, response);
  } catch {
    // Offline while installing: the worker works without it; the next version keeps it.
  }
}

/**
 * The kept sign-in page, for a navigation to it (whatever its ?next=) without a signal.
 * @param {URL} url
 */
async function signInPage(url) {
  if (url.pathname !== SIGN_IN_URL) return undefined;
  return caches.match(new URL(SIGN_IN_URL, sw.location.origin).href, { cacheName: STATIC_CACHE });
}

/**
 * A page the server allows to keep, served to a signed-in session, as it is (no redirect, no error).
 * @param {Response} response
 */
function keepable(response) {
  const owner = response.headers.get(OWNER_HEADER);
  return (
    response.ok &&
    !response.redirected &&
    response.type === "basic" &&
    response.headers.get(OFFLINE_HEADER) === "keep" &&
    Boolean(owner) &&
    owner !== SIGNED_OUT
  );
}

/** @param {string} href @param {Response} response */
async function keep(href, response) {
  // Opened per write: a cache deleted meanwhile (sign-out in another tab) must not swallow the page.
  const cache = await caches.open(PAGES_CACHE);
  await cache.put(href, response);
}

/**
 * What a response from our server says about the session: ended (sign-in page, 401) or another user's, then the
 * kept pages go. A response without the header (a proxy's error page) says nothing either way.
 * @param {Response} response
 */
async function followSession(response) {
  if (response.type !== "basic") return;
  const owner = response.headers.get(OWNER_HEADER);
  if (response.status === 401 || owner === SIGNED_OUT) await forgetSession();
  else if (owner) {
    await forgetPagesNotOf(owner);
    await forgetPersonalDataNotOf(owner);
  }
}

/** @param {string} owner */
async function forgetPagesNotOf(owner) {
  // Look without opening: caches.open would create an empty pages cache.
  if (!(await caches.has(PAGES_CACHE))) return;
  const cache = await caches.open(PAGES_CACHE);
  for (const key of await cache.keys()) {
    const page = await cache.match(key);
    if (!page || page.headers.get(OWNER_HEADER) !== owner) {
      await forgetSession();
      return;
    }
  }
}

/**
 * The session this browser holds now, read from its cookie: a label, null when there is none (the browser was
 * closed or the session ended), undefined where the worker cannot read cookies (no Cookie Store API).
 * @returns {Promise<string | null | undefined>}
 */
async function browserOwner() {
  const store = /** @type {any} */ (self).cookieStore;
  if (!store) return undefined;
  try {
    const cookie = await store.get(OWNER_COOKIE);
    return cookie && cookie.value ? cookie.value : null;
  } catch {
    return undefined;
  }
}

/**
 * The kept copy of a page, only if it belongs to the session this browser holds now; otherwise every kept page
 * is forgotten first, so the next person on a shared device never sees the last one's pages.
 * @param {URL} url
 */
async function keptPage(url) {
  // Look without opening: caches.open would create an empty pages cache, even after sign-out.
  if (!(await caches.has(PAGES_CACHE))) return undefined;
  const cache = await caches.open(PAGES_CACHE);
  const page = (await cache.match(url.href)) || (await cache.match(url.href, { ignoreSearch: true }));
  if (!page) return undefined;
  const owner = await browserOwner();
  if (owner === undefined) return page.headers.get(OWNER_HEADER) ? page : undefined;
  if (owner === null || page.headers.get(OWNER_HEADER) !== owner) {
    await forgetSession();
    return undefined;
  }
  return page;
}

/** @param {Request} request */
async function cacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") {
    const cache = await caches.open(STATIC_CACHE);
    await cache.put(request, response.clone());
  }
  return response;
}

/**
 * Keep the pages field work needs, fetched under the session at hand (a redirect to sign-in is not kept).
 * @param {string} [owner] the session's label as the page read it from its cookie
 */
async function warmPages(owner) {
  const current = owner || (await browserOwner());
  for (const path of WARM_PAGES) {
    try {
      const url = new URL(path, sw.location.origin).href;
      const kept = (await caches.has(PAGES_CACHE)) ? await (await caches.open(PAGES_CACHE)).match(url) : undefined;
      if (kept && current && kept.headers.get(OWNER_HEADER) === current) continue;
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      await followSession(response);
      if (keepable(response)) await keep(url, response);
    } catch {
      // Offline while warming: the pages will be kept on the next visit.
    }
  }
}
