// Import uploads: a progress bar while a large file uploads, then a note while the server checks it.
// Without this script the forms post normally; with it, the same POST goes through XMLHttpRequest,
// the only browser API that reports upload progress. Files over the import limit are refused on their field
// before they are sent, here and on the roster upload (which htmx sends).

/**
 * Send one upload form, showing progress, and follow the server's answer.
 * @param {HTMLFormElement} form
 */
function sendWithProgress(form) {
  const status = /** @type {HTMLElement|null} */ (form.querySelector(".upload-status"));
  const bar = /** @type {HTMLProgressElement|null} */ (form.querySelector("progress"));
  const text = /** @type {HTMLElement|null} */ (form.querySelector("[data-upload-text]"));
  const button = /** @type {HTMLButtonElement|null} */ (form.querySelector("button[type=submit]"));
  const xhr = new XMLHttpRequest();
  xhr.open("POST", form.action);
  xhr.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable || !bar || !text) return;
    const percent = Math.round((event.loaded / event.total) * 100);
    bar.value = percent;
    text.textContent = `Uploading… ${percent}%`;
  });
  xhr.upload.addEventListener("load", () => {
    // The file is on the server; reading every row can take a while for big districts.
    if (bar) bar.removeAttribute("value");
    if (text) text.textContent = "Checking every row…";
  });
  xhr.addEventListener("load", () => {
    if (xhr.status >= 200 && xhr.status < 300) {
      window.location.assign(xhr.responseURL);
      return;
    }
    if (xhr.status === 422 || xhr.status === 413) {
      replaceSection(form, xhr.responseText);
      return;
    }
    showFailure(form, "The upload failed; nothing was imported. Try again.");
  });
  xhr.addEventListener("error", () => showFailure(form, "No connection. Try again when you are online."));
  if (status) status.hidden = false;
  if (button) button.disabled = true;
  xhr.send(new FormData(form));
}

/**
 * Swap this form's section for the same section of the server's answer (which carries the field error).
 * @param {HTMLFormElement} form
 * @param {string} html
 */
function replaceSection(form, html) {
  const section = form.closest("section[id]");
  const doc = new DOMParser().parseFromString(html, "text/html");
  const fresh = section ? doc.getElementById(section.id) : null;
  if (!section || !fresh) {
    showFailure(form, "The file could not be read.");
    return;
  }
  section.replaceWith(document.adoptNode(fresh));
  const next = /** @type {HTMLFormElement|null} */ (document.querySelector(`#${section.id} form[data-upload]`));
  if (next) watch(next);
}

/**
 * @param {HTMLFormElement} form
 * @param {string} message
 */
function showFailure(form, message) {
  const text = form.querySelector("[data-upload-text]");
  const button = /** @type {HTMLButtonElement|null} */ (form.querySelector("button[type=submit]"));
  if (text) text.textContent = message;
  if (button) button.disabled = false;
}

/**
 * Say on the file's field that it is over the limit the server enforces (the form carries both), so a file
 * that would only be refused is never sent.
 * @param {HTMLFormElement} form
 * @returns {boolean} whether the chosen files are too large
 */
function refuseTooLarge(form) {
  const inputs = /** @type {HTMLInputElement[]} */ (Array.from(form.querySelectorAll("input[type=file]")));
  const input = inputs[0];
  const total = inputs.reduce((sum, each) => sum + Array.from(each.files || []).reduce((n, f) => n + f.size, 0), 0);
  const limit = Number(form.dataset.maxBytes);
  if (!input || !limit || total <= limit) return false;
  const field = input.closest(".field");
  const id = `${input.id}-error`;
  let error = document.getElementById(id);
  if (!error) {
    error = document.createElement("p");
    error.className = "error";
    error.id = id;
    input.parentElement?.append(error);
  }
  error.textContent = form.dataset.tooLarge || "That file is too large.";
  field?.classList.add("has-error");
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", id);
  return true;
}

/** @param {HTMLFormElement} form */
function watch(form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (refuseTooLarge(form)) return;
    sendWithProgress(form);
  });
}

document.querySelectorAll("form[data-upload]").forEach((form) => watch(/** @type {HTMLFormElement} */ (form)));

// Forms htmx sends: checked in the capture phase, before htmx's own submit listener sees the event.
document.addEventListener(
  "submit",
  (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute("data-upload") || !form.dataset.maxBytes) return;
    if (refuseTooLarge(form)) {
      event.preventDefault();
      event.stopPropagation();
    }
  },
  true,
);

// The server's 413 answer is the form again with the limit on its field: swap it in, as a 422 is.
document.body.addEventListener("htmx:beforeSwap", (event) => {
  const detail = /** @type {CustomEvent} */ (event).detail;
  const sender = detail.requestConfig && detail.requestConfig.elt;
  if (detail.xhr.status === 413 && sender instanceof Element && sender.closest("form[data-max-bytes]")) {
    detail.shouldSwap = true;
    detail.isError = false;
  }
});
