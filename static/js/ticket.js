// The ticket page: the fee form's amount follows the reason chosen, filled with the schedule's usual amount for
// it. An amount the tech typed themselves (one that is not the usual amount of the reason it was chosen for) stays.

/**
 * The amount field a reason list fills.
 * @param {HTMLSelectElement} select
 */
function amountField(select) {
  const id = select.dataset.feeReason || "";
  const field = document.getElementById(id);
  return field instanceof HTMLInputElement ? field : null;
}

/**
 * The usual amount of the reason at `index`, as the schedule writes it.
 * @param {HTMLSelectElement} select
 * @param {number} index
 */
function usualAmount(select, index) {
  const option = select.options[index];
  return option ? option.dataset.amount || "" : "";
}

/** Remember each list's chosen reason, so a change can tell a typed amount from the usual one. */
function rememberChoices() {
  for (const select of document.querySelectorAll("select[data-fee-reason]")) {
    if (select instanceof HTMLSelectElement) select.dataset.chosen = String(select.selectedIndex);
  }
}

/** @param {Event} event */
function followReason(event) {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || !select.matches("select[data-fee-reason]")) return;
  const field = amountField(select);
  const before = Number(select.dataset.chosen || "0");
  select.dataset.chosen = String(select.selectedIndex);
  if (!field) return;
  const typed = field.value.trim();
  if (typed === "" || typed === usualAmount(select, before)) field.value = usualAmount(select, select.selectedIndex);
}

// The form is redrawn by every action on the ticket, so listen once on the document.
document.addEventListener("change", followReason);
document.body.addEventListener("htmx:afterSettle", rememberChoices);
rememberChoices();

// A redraw keeps the sections the tech had opened (parts, fee, assignee) open, so a second part or a fee after a
// step is one tap away and the focus can stay on the control that was used.
let opened = /** @type {string[]} */ ([]);
document.body.addEventListener("htmx:beforeSwap", (event) => {
  const target = /** @type {CustomEvent} */ (event).detail?.target;
  if (!(target instanceof HTMLElement) || target.id !== "ticket-work") return;
  opened = [...target.querySelectorAll("details[open][id]")].map((el) => el.id);
});
document.body.addEventListener("htmx:afterSwap", () => {
  for (const id of opened) {
    const details = document.getElementById(id);
    if (details instanceof HTMLDetailsElement) details.open = true;
  }
  opened = [];
});
