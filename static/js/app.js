// Boot: things every page needs. Kept small; feature scripts load only on their pages.

/** Show htmx's 4xx/5xx answers that were not swapped, so an action never fails silently. */
function reportHtmxErrors() {
  document.body.addEventListener("htmx:responseError", (event) => {
    const status = event.detail.xhr.status;
    if (status === 422) return; // swapped inline as form errors
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

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", reportHtmxErrors);
} else {
  reportHtmxErrors();
}
