// The sign-in page: says how much work recorded on this phone waits to be sent (the outbox keeps each event for
// its author and sends it once they sign in), and makes its form post a CSRF token the server knows. Offline, after
// a browser restart, this page is the copy the service worker kept (static/sw.js), whose token belongs to no one's
// session: the form fetches a fresh one as it is sent, and says so when there is still no signal.

import { onOutboxChange } from "./outbox.js";
import { waiting } from "./store.js";

/** Every event in this browser's outbox, whoever recorded it: each is sent once its author signs in. */
async function waitingCount() {
  try {
    return (await waiting()).length;
  } catch {
    return 0; // No IndexedDB here (a privacy mode): nothing can be waiting either.
  }
}

async function showWaiting() {
  const box = document.getElementById("outbox-waiting");
  if (!box) return;
  const count = await waitingCount();
  box.textContent =
    count === 1
      ? "1 action waits on this phone; sign in to send it."
      : `${count} actions wait on this phone; sign in to send them.`;
  box.hidden = count === 0;
}

/**
 * The CSRF token of a page the server sends now, for this browser's session.
 * @returns {Promise<string>}
 */
async function freshToken() {
  const response = await fetch("/login", { credentials: "same-origin", cache: "no-store" });
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const field = /** @type {HTMLInputElement | null} */ (page.querySelector('input[name="csrf_token"]'));
  return field ? field.value : "";
}

/** @param {HTMLFormElement} form @param {string} text */
function formMessage(form, text) {
  let note = form.querySelector(".signin-offline");
  if (!note) {
    note = document.createElement("p");
    note.className = "error signin-offline";
    note.setAttribute("role", "alert");
    form.prepend(note);
  }
  note.textContent = text;
}

/** @param {HTMLFormElement} form */
function sendWithAFreshToken(form) {
  // The kept copy was made without the ?next= it was opened with: carry it, so signing in lands where the person was.
  const next = new URLSearchParams(location.search).get("next");
  if (next && !form.querySelector('input[name="next"]')) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = "next";
    input.value = next;
    form.append(input);
  }
  form.addEventListener("submit", async (event) => {
    if (form.dataset.sending) return;
    event.preventDefault();
    form.dataset.sending = "1";
    let token = "";
    try {
      token = await freshToken();
    } catch {
      delete form.dataset.sending;
      formMessage(form, "No connection. Sign in once you have a signal; what waits here stays on this phone.");
      return;
    }
    const field = /** @type {HTMLInputElement | null} */ (form.querySelector('input[name="csrf_token"]'));
    if (field && token) field.value = token;
    form.submit();
  });
}

function boot() {
  const form = /** @type {HTMLFormElement | null} */ (document.querySelector("form[data-signin]"));
  if (form) sendWithAFreshToken(form);
  showWaiting();
  onOutboxChange(() => showWaiting());
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", boot);
} else {
  boot();
}
