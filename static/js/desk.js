// The loaner desk: the cursor always goes back to the scan field, so a keyboard-wedge scanner (which types
// the code and presses Enter) can work the desk without anyone touching the mouse.

/** @returns {HTMLFormElement | null} */
function scanForm() {
  return document.querySelector("form[data-scan-form]");
}

/** @returns {HTMLInputElement | null} */
function scanField() {
  return document.querySelector("[data-scan-field]");
}

/** Put the cursor back in the scan field (unless the user is busy in another field). */
function refocus() {
  const field = scanField();
  if (!field) return;
  const active = document.activeElement;
  const busyElsewhere = active && active !== field && active.matches("input, select, textarea") &&
    active.type !== "radio" && active.type !== "submit";
  if (!busyElsewhere) field.focus({ preventScroll: true });
}

/** After a check-in the return fields start over, so one "damaged" never sticks to the next device. */
function resetReturnFields() {
  const form = scanForm();
  if (!form) return;
  const good = form.querySelector('input[name="condition"][value="good"]');
  if (good instanceof HTMLInputElement) good.checked = true;
  const note = form.querySelector('input[name="note"]');
  if (note instanceof HTMLInputElement) note.value = "";
}

function wireFocus() {
  const form = scanForm();
  const field = scanField();
  if (!form || !field) return;
  field.focus();
  // htmx has read the form's values by now: empty the field at once so the next scan starts clean.
  form.addEventListener("htmx:configRequest", () => { field.value = ""; });
  document.body.addEventListener("htmx:afterSettle", refocus);
  document.body.addEventListener("loans-changed", resetReturnFields);
  // Radios and buttons keep the focus only for their click; the scanner types into the scan field.
  form.addEventListener("change", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (target.matches('input[type="radio"], input[type="date"]')) setTimeout(refocus, 0);
  });
  document.addEventListener("click", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (!target.closest("input, select, textarea, a, label, summary, button")) refocus();
  });
  field.addEventListener("blur", () => {
    // Focus drifting to nothing (the page body) comes straight back.
    setTimeout(() => { if (document.activeElement === document.body) refocus(); }, 0);
  });
}

function wirePrint() {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
}

function wireCampusSwitch() {
  const select = document.getElementById("desk-campus-select");
  if (select instanceof HTMLSelectElement && select.form) {
    select.addEventListener("change", () => select.form?.submit());
  }
}

function boot() {
  wireFocus();
  wirePrint();
  wireCampusSwitch();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", boot);
} else {
  boot();
}
