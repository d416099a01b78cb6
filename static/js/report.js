// The student's report pages: the error summary after a failed submit, and copying or sharing the status link.
// Public pages load this instead of app.js, so nothing here installs a service worker or keeps anything.

/**
 * Move focus to the error summary so it is read first, and make its links land on their fields: a link to a
 * field's id scrolls to it but leaves focus behind, so the field is focused, with its label or legend in view.
 */
function focusErrorSummary() {
  const summary = document.getElementById("error-summary");
  if (!summary) return;
  for (const link of summary.querySelectorAll("a[href^='#']")) {
    link.addEventListener("click", (event) => {
      const target = document.getElementById((link.getAttribute("href") || "").slice(1));
      if (!(target instanceof HTMLElement)) return;
      event.preventDefault();
      const around = target.closest("fieldset, .field") || target;
      around.scrollIntoView({ block: "start" });
      target.focus({ preventScroll: true });
    });
  }
  summary.focus();
}

/**
 * Put text on the clipboard; false when the browser refuses (no permission, or an insecure page).
 * @param {string} text
 */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** The copy and share buttons of the done page; share falls back to copy where the phone cannot share. */
function offerShareLink() {
  const box = document.getElementById("share-link");
  const note = document.getElementById("share-note");
  if (!box || !note) return;
  const url = box.dataset.url || "";
  const say = (/** @type {string | undefined} */ text) => {
    note.textContent = text || "";
  };
  const copy = async () => say((await copyText(url)) ? box.dataset.copied : box.dataset.copyFailed);
  const copyButton = box.querySelector("[data-copy]");
  const shareButton = box.querySelector("[data-share]");
  if (copyButton) copyButton.addEventListener("click", copy);
  if (shareButton) {
    shareButton.addEventListener("click", async () => {
      if (typeof navigator.share !== "function") {
        await copy();
        return;
      }
      try {
        await navigator.share({ title: box.dataset.title || document.title, url });
      } catch (error) {
        // Closing the share sheet is a choice, not a failure; anything else falls back to copying.
        if (!(error instanceof DOMException && error.name === "AbortError")) await copy();
      }
    });
  }
  box.hidden = false;
}

function boot() {
  focusErrorSummary();
  offerShareLink();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", boot);
} else {
  boot();
}
