// Boot: things every page needs. Kept small; feature scripts load only on their pages.

import { CHANNEL, SYNC_TAG, clearSession, flush, forgetPages, getMeta, pendingCount, setSession } from "./outbox.js";

/** Show htmx's 4xx/5xx answers that were not swapped, so an action never fails silently. */
function reportHtmxErrors() {
  document.body.addEventListener("htmx:responseError", (event) => {
    const status = event.detail.xhr.status;
    if (status === 422) return; // swapped inline as form errors
    if (status === 401) forgetPages().catch(() => {}); // the session ended: its kept pages go with it
    const text = status === 403 ? "Your role does not allow this."
      : status === 404 ? "That is no longer there."
      : status === 429 ? "Too many attempts; wait a minute."
      : "Something went wrong; nothing was saved. Try again.";
    showToast(text);
  });
  document.body.addEventListener("htmx:sendError", () => showToast("No connection. Try again when you are online."));
}

/** A short message at the bottom of the screen. */
export function showToast(text) {
  let box = document.getElementById("toast");
  if (!box) {
    box = document.createElement("div");
    box.id = "toast";
    box.className = "toast";
    box.setAttribute("role", "status");
    document.body.append(box);
  }
  box.textContent = text;
  box.hidden = false;
  clearTimeout(box._timer);
  box._timer = setTimeout(() => { box.hidden = true; }, 5000);
}

// Offline: service worker, outbox badge and flushing, update and install prompts, sign-out clean-up ----------

/** How often to retry while events wait (also on each action, page load, `online` and `visibilitychange`). */
const RETRY_MS = 5000;
let retryTimer = 0;

/** The signed-in user's email on this page ("" when signed out or on the offline page). */
function pageUser() {
  return document.body.dataset.user || "";
}

/** The label of this browser's session (app/web/offline.py), which the worker keeps pages under. */
function sessionOwner() {
  const pair = document.cookie.split("; ").find((c) => c.startsWith("rollcall_offline="));
  return pair ? decodeURIComponent(pair.slice("rollcall_offline=".length)) : "";
}

/** The CSRF token the page sends with htmx requests; the outbox sends it too. */
function pageCsrf() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

/** Show how many events wait to be sent, in the header badge. */
export async function refreshBadge() {
  const badge = document.getElementById("pending-badge");
  const count = await pendingCount().catch(() => 0);
  if (badge) {
    badge.textContent = String(count);
    badge.hidden = count === 0;
    badge.setAttribute("aria-label", `${count} waiting to sync`);
  }
  clearTimeout(retryTimer);
  if (count > 0) retryTimer = setTimeout(() => flushSoon(), RETRY_MS);
  return count;
}

/** Send what waits now (every caller may call this; one flush runs at a time). */
export async function flushSoon() {
  // A signed-out page (sign-in form) has no session to send with; the offline page uses the stored one.
  if (document.body.hasAttribute("data-user") && !pageUser()) return null;
  if (!(await getMeta("user").catch(() => ""))) return null;
  const outcome = await flush().catch(() => null);
  if (outcome && outcome.state === "signin") showSignIn();
  await refreshBadge();
  return outcome;
}

/** Ask the browser to flush from the worker later, even if this page is closed (Background Sync). */
export async function scheduleBackgroundSync() {
  if (!("serviceWorker" in navigator)) return;
  try {
    const reg = await navigator.serviceWorker.ready;
    const sync = /** @type {any} */ (reg).sync;
    if (sync) await sync.register(SYNC_TAG);
  } catch {
    // Not offered here (or refused): the page's own triggers still flush.
  }
}

/** A bar at the top of the content with a message and an optional action. */
function banner(id, text, actionLabel, action) {
  let bar = document.getElementById(id);
  if (!bar) {
    bar = document.createElement("div");
    bar.id = id;
    bar.className = "banner";
    bar.setAttribute("role", "status");
    const main = document.getElementById("main") || document.body;
    main.prepend(bar);
  }
  bar.replaceChildren();
  const p = document.createElement("span");
  p.textContent = text;
  bar.append(p);
  if (actionLabel) {
    const button = document.createElement(typeof action === "string" ? "a" : "button");
    button.textContent = actionLabel;
    button.className = "button primary";
    if (typeof action === "string") button.setAttribute("href", action);
    else button.addEventListener("click", action);
    bar.append(button);
  }
  bar.hidden = false;
  return bar;
}

async function showSignIn() {
  const count = await pendingCount().catch(() => 0);
  const next = encodeURIComponent(location.pathname + location.search);
  const what = count ? ` ${count} recorded on this phone wait${count === 1 ? "s" : ""} to be sent.` : "";
  banner("signin-banner", `Your session has ended.${what} Sign in again to send them.`, "Sign in", `/login?next=${next}`);
}

/** Register the worker; offer "update available — reload" when a new one waits. */
async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  let reg;
  try {
    reg = await navigator.serviceWorker.register("/sw.js", { scope: "/", type: "module" });
  } catch {
    return; // No module workers here: the app works online, the outbox still queues in this page.
  }
  let requested = false;
  const offerUpdate = (worker) =>
    banner("update-banner", "Update available.", "Reload", () => {
      requested = true;
      worker.postMessage({ type: "skip-waiting" });
    });
  if (reg.waiting && navigator.serviceWorker.controller) offerUpdate(reg.waiting);
  reg.addEventListener("updatefound", () => {
    const worker = reg.installing;
    if (!worker) return;
    worker.addEventListener("statechange", () => {
      if (worker.state === "installed" && navigator.serviceWorker.controller) offerUpdate(worker);
    });
  });
  let reloading = false;
  const hadController = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    // The first install takes control quietly; a later one is the update the person asked for (also on a page
    // the first worker only claimed after it loaded).
    if (!(hadController || requested) || reloading) return;
    reloading = true;
    location.reload();
  });
  if (pageUser()) {
    const ready = await navigator.serviceWorker.ready;
    if (ready.active) ready.active.postMessage({ type: "warm", owner: sessionOwner() });
  }
}

/** Offer "Install Rollcall" where the browser allows it. */
function offerInstall() {
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    const prompt = /** @type {any} */ (event);
    const bar = banner("install-banner", "Install Rollcall on this phone for quick, offline scanning.", "Install", async () => {
      bar.hidden = true;
      await prompt.prompt();
    });
  });
  window.addEventListener("appinstalled", () => {
    const bar = document.getElementById("install-banner");
    if (bar) bar.hidden = true;
  });
}

/** Sign-out forgets cached pages, htmx's history copies and the session; unsent events stay for their author. */
function cleanUpOnSignOut() {
  document.addEventListener("submit", async (event) => {
    const form = /** @type {HTMLFormElement} */ (event.target);
    if (!form.matches || !form.matches("form[data-logout]") || form.dataset.cleaned) return;
    event.preventDefault();
    form.dataset.cleaned = "1";
    try {
      localStorage.removeItem("htmx-history-cache");
      sessionStorage.clear();
      await clearSession();
      await forgetPages();
      const reg = "serviceWorker" in navigator ? await navigator.serviceWorker.getRegistration() : null;
      if (reg && reg.active) reg.active.postMessage({ type: "signed-out" });
    } finally {
      form.submit();
    }
  });
}

let setAsideCount = 0;
/** Say that the server could not take something recorded here, and where the list of such events is. */
function showSetAside(count) {
  setAsideCount += count;
  const what = setAsideCount === 1 ? "1 thing recorded on this phone" : `${setAsideCount} things recorded on this phone`;
  const text = `The server could not take ${what}; set aside so the rest could be sent.`;
  const onScan = location.pathname === "/scan";
  banner("set-aside-banner", text, onScan ? "" : "See why", onScan ? "" : "/scan#rejected");
}

function listenToOutbox() {
  try {
    const channel = new BroadcastChannel(CHANNEL);
    channel.addEventListener("message", (event) => {
      if (event.data && event.data.type === "signin") showSignIn();
      if (event.data && event.data.type === "set-aside") showSetAside(event.data.count || 1);
      refreshBadge();
    });
  } catch {
    // Without BroadcastChannel the badge still follows this page's own flushes.
  }
}

async function bootOffline() {
  const user = pageUser();
  const signedOutPage = document.body.hasAttribute("data-user") && !user;
  const previous = await getMeta("user").catch(() => "");
  // Pages kept for offline use belong to one session: a signed-out page, or another person's, ends it.
  if (signedOutPage || (user && previous && previous !== user)) await forgetPages().catch(() => {});
  if (user) {
    await setSession({ user, csrf: pageCsrf() }).catch(() => {});
  }
  listenToOutbox();
  cleanUpOnSignOut();
  offerInstall();
  window.addEventListener("online", () => flushSoon());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") flushSoon();
  });
  for (const button of document.querySelectorAll("[data-reload]")) {
    button.addEventListener("click", () => location.reload());
  }
  await refreshBadge();
  if (user) flushSoon();
  registerServiceWorker();
}

function boot() {
  reportHtmxErrors();
  bootOffline();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", boot);
} else {
  boot();
}
