// The device list's selection: "select all on this page" and "select all matching" tick every row, unticking a
// row clears them, and the form's own change event (htmx, hx-trigger="change") then asks the server for the count.

/**
 * Keep the page's boxes in step with the one just changed. Runs in the capture phase, before htmx sends the form.
 * @param {Event} event
 */
function followSelection(event) {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || box.type !== "checkbox" || !box.form || box.form.id !== "bulk-form") {
    return;
  }
  const form = box.form;
  /** @param {string} selector */
  const boxes = (selector) => /** @type {NodeListOf<HTMLInputElement>} */ (form.querySelectorAll(selector));
  if (box.matches("[data-bulk-page], [data-bulk-all]")) {
    for (const row of boxes("input[data-bulk-row]")) row.checked = box.checked;
    if (box.matches("[data-bulk-all]") && box.checked) {
      for (const page of boxes("input[data-bulk-page]")) page.checked = true;
    }
    if (box.matches("[data-bulk-page]") && !box.checked) {
      for (const all of boxes("input[data-bulk-all]")) all.checked = false;
    }
  } else if (box.matches("[data-bulk-row]") && !box.checked) {
    for (const other of boxes("input[data-bulk-page], input[data-bulk-all]")) other.checked = false;
  }
}

document.addEventListener("change", followSelection, true);
