// Rollcall's service worker, served at /sw.js (scope /) with its version and shell list filled in by the server.
// Registered as a module worker so it shares the outbox code with the pages (Background Sync flushes it).
// Navigations: network first with a timeout, then the cached page, then /offline. Static files: cache first.
// Never cached: anything but GET, /api/, fragments, sign-in pages, and pages after sign-out.

import { flush, SYNC_TAG } from "/static/js/outbox.js";

const VERSION = "__VERSION__";
const SHELL = ["__SHELL__"];
const STATIC_CACHE = `rollcall-static-${VERSION}`;
const PAGES_CACHE = `rollcall-pages-${VERSION}`;
const OFFLINE_URL = "/offline";
/** Pages kept ready for use without a signal, beyond the ones a person has opened. */
const WARM_PAGES = ["/scan", "/audits/live"];
/** A slow network loses to the cached copy after this long. */
const NAV_TIMEOUT_MS = 4000;
const NEVER_CACHE_PAGES = ["/login", "/logout", "/t/", "/r"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(STATIC_CACHE);
      await cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" })));
      await warmPages();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const keep = new Set([STATIC_CACHE, PAGES_CACHE]);
      for (const name of await caches.keys()) {
        if (name.startsWith("rollcall-") && !keep.has(name)) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  const type = event.data && event.data.type;
  if (type === "skip-waiting") self.skipWaiting();
  else if (type === "signed-out") event.waitUntil(forgetPages());
  else if (type === "warm") event.waitUntil(warmPages());
});

self.addEventListener("sync", (event) => {
  if (event.tag === SYNC_TAG) {
    event.waitUntil(
      flush().then((outcome) => {
        // Throwing asks the browser to try again later; a missing session will not fix itself, so don't.
        if (outcome.state === "offline" || outcome.state === "error") throw new Error(outcome.state);
      }),
    );
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/sw.js") return;
  if (request.mode === "navigate") {
    event.respondWith(networkFirst(request, url));
  } else if (url.pathname.startsWith("/static/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(cacheFirst(request));
  }
  // Everything else (htmx fragments, downloads) goes to the network untouched.
});

/** @param {URL} url */
function cacheablePage(url) {
  return !NEVER_CACHE_PAGES.some((p) => url.pathname === p || (p.endsWith("/") && url.pathname.startsWith(p)));
}

/** @param {Request} request @param {URL} url */
async function networkFirst(request, url) {
  const network = fetch(request).then(async (response) => {
    // Redirects (to sign-in) and errors are not pages worth keeping.
    if (response.ok && !response.redirected && response.type === "basic" && cacheablePage(url)) {
      const cache = await caches.open(PAGES_CACHE);
      await cache.put(url.href, response.clone());
    }
    return response;
  });
  // Look without opening: caches.open would create an empty pages cache, even after sign-out.
  const cachedCopy = async () => {
    if (!(await caches.has(PAGES_CACHE))) return undefined;
    const cache = await caches.open(PAGES_CACHE);
    return (await cache.match(url.href)) || (await cache.match(url.href, { ignoreSearch: true }));
  };
  const timeout = new Promise((resolve) => setTimeout(resolve, NAV_TIMEOUT_MS, "timeout"));
  try {
    const first = await Promise.race([network, timeout]);
    if (first !== "timeout") return /** @type {Response} */ (first);
    const cached = await cachedCopy();
    return cached || (await network);
  } catch {
    const cached = await cachedCopy();
    if (cached) return cached;
    return (await caches.match(OFFLINE_URL)) || new Response("Offline", { status: 503 });
  }
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

/** Keep the pages field work needs (only when signed in: a redirect to sign-in is not kept). */
async function warmPages() {
  const cache = await caches.open(PAGES_CACHE);
  for (const path of WARM_PAGES) {
    try {
      const url = new URL(path, self.location.origin).href;
      if (await cache.match(url)) continue;
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (response.ok && !response.redirected) await cache.put(url, response);
    } catch {
      // Offline while warming: the pages will be kept on the next visit.
    }
  }
}

/** Sign-out: drop every kept page (they carry the person's data); the static shell holds no personal data. */
async function forgetPages() {
  for (const name of await caches.keys()) {
    if (name.startsWith("rollcall-pages-")) await caches.delete(name);
  }
}
