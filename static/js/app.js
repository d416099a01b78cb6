// Boot: things every page needs. Kept small; feature scripts load only on their pages.

import { onOutboxChange, pendingCount, requestFlush } from "./outbox.js";
import { clearSession, forgetPersonalDataNotOf, forgetSession, setSession } from "./session.js";
import { getMeta } from "./store.js";

/** Show htmx's 4xx/5xx answers that were not swapped, so an action never fails silently. */
function reportHtmxErrors() {
  document.body.addEventListener("htmx:responseError", (event) => {
    const status = /** @type {CustomEvent<{xhr: XMLHttpRequest}>} */ (event).detail.xhr.status;
    if (status === 422) return; // swapped inline as form errors
    if (status === 401) forgetEverything(); // the session ended: what it kept goes with it
    const text = status === 403 ? "Your role does not allow this."
      : status === 404 ? "That is no longer there."
      : status === 429 ? "Too many attempts; wait a minute."
      : "Something went wrong; nothing was saved. Try again.";
    showToast(text);
  });
  document.body.addEventListener("htmx:sendError", () => showToast("No connection. Try again when you are online."));
}

// Focus after htmx swaps -----------------------------------------------------------------------------------------

/** What the swapped content may ask to be focused, in order: its alert or error summary, a field it marked wrong. */
const FOCUS_ALERT = '[role="alert"], .error-summary, [data-error-summary]';
const FOCUS_INVALID = '[aria-invalid="true"]';
const FOCUS_ASKED = "[data-focus], [autofocus]";
const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), ' +
  'textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';

/**
 * How to find the focused element again once a swap has replaced it: its tag, name, value and words.
 * @param {Element} el
 */
function focusKey(el) {
  return [el.tagName, el.getAttribute("name") || "", el.getAttribute("value") || "", (el.textContent || "").trim()].join("|");
}

/** @param {Element} root @param {string} selector */
function firstShown(root, selector) {
  const all = [...(root.matches(selector) ? [root] : []), ...root.querySelectorAll(selector)];
  return /** @type {HTMLElement | undefined} */ (all.find((el) => el instanceof HTMLElement && el.checkVisibility()));
}

/** @param {HTMLElement} el */
function focusOn(el) {
  if (!el.matches(FOCUSABLE) && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
  el.focus();
}

/**
 * After each htmx swap the focus goes somewhere sensible, never to <body>: when the person acted (a submit or a
 * click), to the new content's alert or error summary, else its first field marked invalid, else a [data-focus] or
 * [autofocus] element; otherwise it stays where it was, and if the swap took that element away, it moves to the
 * same control in the new content (or the content itself). A swap the person did not ask for (typing into live
 * search, polling, a refresh) never takes the focus from a field still on the page, and neither does any swap
 * from a scan field (the desk's loans.js keeps the cursor there for the scanner).
 */
function focusAfterSwaps() {
  let lost = "";
  document.body.addEventListener("htmx:beforeSwap", () => {
    const active = document.activeElement;
    lost = active && active !== document.body ? focusKey(active) : "";
  });
  document.body.addEventListener("htmx:afterSettle", (event) => {
    const root = /** @type {Element} */ (event.target);
    if (!(root instanceof HTMLElement) || !root.isConnected) return;
    const detail = /** @type {CustomEvent<{requestConfig?: {triggeringEvent?: Event}}>} */ (event).detail || {};
    const trigger = detail.requestConfig && detail.requestConfig.triggeringEvent;
    const asked = Boolean(trigger && (trigger.type === "submit" || trigger.type === "click"));
    const active = document.activeElement;
    const kept = active instanceof HTMLElement && active !== document.body && active.isConnected && active.checkVisibility();
    if (kept && (!asked || active.matches("[data-scan-field]"))) return;
    const wanted = firstShown(root, FOCUS_ALERT) || firstShown(root, FOCUS_INVALID) || firstShown(root, FOCUS_ASKED);
    if (wanted) return focusOn(wanted);
    if (kept) return;
    const same = lost ? [...root.querySelectorAll(FOCUSABLE)].find((el) => focusKey(el) === lost) : undefined;
    focusOn(/** @type {HTMLElement} */ (same && same.checkVisibility() ? same : root));
  });
}

let toastTimer = 0;
/**
 * A short message at the bottom of the screen.
 * @param {string} text
 */
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
  const shown = box;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { shown.hidden = true; }, 5000);
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
  const outcome = await requestFlush().catch(() => null);
  if (outcome && outcome.state === "signin") showSignIn();
  await refreshBadge();
  return outcome;
}

/**
 * A bar at the top of the content with a message and an optional action: a link (its address) or a button.
 * @param {string} id
 * @param {string} text
 * @param {string} [actionLabel]
 * @param {string | (() => void)} [action]
 */
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
    else if (action) button.addEventListener("click", action);
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
  const offerUpdate = (/** @type {ServiceWorker} */ worker) =>
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

/** "Not now" on the install banner keeps it away this long, on every page and visit (localStorage, per browser). */
const INSTALL_NOT_NOW_DAYS = 30;
const INSTALL_NOT_NOW_KEY = "rollcall-install-not-now";

function installDeclined() {
  try {
    return Number(localStorage.getItem(INSTALL_NOT_NOW_KEY) || 0) > Date.now();
  } catch {
    return false; // Storage refused (a privacy mode): the banner is offered, and "Not now" hides it for this page.
  }
}

function declineInstall() {
  try {
    localStorage.setItem(INSTALL_NOT_NOW_KEY, String(Date.now() + INSTALL_NOT_NOW_DAYS * 24 * 60 * 60 * 1000));
  } catch {
    // As above: hidden on this page only.
  }
}

/** Offer "Install Rollcall" where the browser allows it, with "Not now" for a person who does not want it yet. */
function offerInstall() {
  window.addEventListener("beforeinstallprompt", (event) => {
    // Always: the browser's own install bar would otherwise come back on every page, "Not now" or not.
    event.preventDefault();
    if (installDeclined()) return;
    const prompt = /** @type {any} */ (event);
    const bar = banner("install-banner", "Install Rollcall on this phone for quick, offline scanning.", "Install", async () => {
      bar.hidden = true;
      await prompt.prompt();
    });
    const notNow = document.createElement("button");
    notNow.type = "button";
    notNow.className = "button";
    notNow.textContent = "Not now";
    notNow.addEventListener("click", () => {
      declineInstall();
      bar.hidden = true;
    });
    bar.append(notNow);
  });
  window.addEventListener("appinstalled", () => {
    const bar = document.getElementById("install-banner");
    if (bar) bar.hidden = true;
  });
}

/**
 * A session is over on this phone: its kept pages, the records naming people (session.js), htmx's copies of pages
 * and this tab's scratch go; unsent events stay for their author.
 */
async function forgetEverything() {
  try {
    localStorage.removeItem("htmx-history-cache");
    sessionStorage.clear();
  } catch {
    // Storage refused (a privacy mode): nothing was kept there either.
  }
  await forgetSession().catch(() => {});
}

/** Sign-out forgets what the session kept (see forgetEverything) and its token. */
function cleanUpOnSignOut() {
  document.addEventListener("submit", async (event) => {
    const form = /** @type {HTMLFormElement} */ (event.target);
    if (!form.matches || !form.matches("form[data-logout]") || form.dataset.cleaned) return;
    event.preventDefault();
    form.dataset.cleaned = "1";
    try {
      await clearSession();
      await forgetEverything();
      const reg = "serviceWorker" in navigator ? await navigator.serviceWorker.getRegistration() : null;
      if (reg && reg.active) reg.active.postMessage({ type: "signed-out" });
    } finally {
      form.submit();
    }
  });
}

let setAsideCount = 0;
/**
 * Say that the server could not take something recorded here, and where the list of such events is.
 * @param {number} count
 */
function showSetAside(count) {
  setAsideCount += count;
  const what = setAsideCount === 1 ? "1 thing recorded on this phone" : `${setAsideCount} things recorded on this phone`;
  const text = `The server could not take ${what}; set aside so the rest could be sent.`;
  const onScan = location.pathname === "/scan";
  banner("set-aside-banner", text, onScan ? "" : "See why", onScan ? "" : "/scan#rejected");
}

function listenToOutbox() {
  onOutboxChange((message) => {
    if (message.type === "signin") {
      // The page's own storage is not the worker's to clear: the outbox has dropped its part already.
      forgetEverything();
      showSignIn();
    }
    if (message.type === "set-aside") showSetAside(message.count || 1);
    refreshBadge();
  });
}

async function bootOffline() {
  const user = pageUser();
  const signedOutPage = document.body.hasAttribute("data-user") && !user;
  const previous = await getMeta("user").catch(() => "");
  const owner = sessionOwner();
  // What the phone keeps belongs to one session: a signed-out page, another person's, or (offline) a session whose
  // cookie is gone (the browser was closed) ends it.
  const offlineWithoutSession = document.body.hasAttribute("data-offline-page") && !owner;
  if (signedOutPage || offlineWithoutSession || (user && previous && previous !== user)) await forgetEverything();
  else if (user && owner) await forgetPersonalDataNotOf(owner).catch(() => {});
  if (user) {
    await setSession({ user, csrf: pageCsrf(), owner }).catch(() => {});
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
  focusAfterSwaps();
  bootOffline();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", boot);
} else {
  boot();
}
