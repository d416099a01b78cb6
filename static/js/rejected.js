// The list of events the server refused (or the phone set aside), as every page shows it: what each was, the
// reason, and Dismiss. The phone keeps at most MAX_REJECTED; the list warns as it nears that, and says how many
// older ones were dropped once it has.

import { dismissRejected, MAX_REJECTED, REJECTED_WARN_AT, rejectedList, rejectedTrimmed } from "./outbox.js";

/** @typedef {import("./store.js").RejectedEvent} RejectedEvent */

/**
 * @typedef {object} RejectedOptions
 * @property {(item: RejectedEvent) => {title: string, detail?: string}} describe what the event was, in the page's words
 * @property {(item: RejectedEvent) => boolean} [only] which of the refused events this page shows
 * @property {string} [className] added to each line, for the page's styles
 * @property {string} [reasonPrefix] put before the reason ("— not recorded: ")
 * @property {HTMLElement | null} [note] where to say the list is nearly full or was trimmed (made after the list if absent)
 * @property {() => void} [onDismiss] called once a line is dismissed
 */

/**
 * The words about the list's bound, or "" when there is nothing to say.
 * @param {number} kept how many refused events the phone keeps now
 * @param {number} trimmed how many older ones were dropped
 */
export function boundNote(kept, trimmed) {
  if (trimmed) return `This phone keeps the newest ${MAX_REJECTED}; ${trimmed} older ones were dropped.`;
  if (kept >= REJECTED_WARN_AT) {
    return `This phone keeps the newest ${MAX_REJECTED} of these (${kept} now): dismiss the ones you have dealt with, or the oldest are dropped first.`;
  }
  return "";
}

/**
 * Fill `list` with the refused events, newest first. Resolves to how many it shows.
 * @param {HTMLElement} list
 * @param {RejectedOptions} options
 * @returns {Promise<number>}
 */
export async function renderRejected(list, options) {
  const all = await rejectedList().catch(() => /** @type {RejectedEvent[]} */ ([]));
  const items = options.only ? all.filter(options.only) : all;
  list.replaceChildren(...items.map((item) => line(item, options)));
  const text = boundNote(all.length, await rejectedTrimmed().catch(() => 0));
  const note = options.note || noteAfter(list, Boolean(text));
  if (note) {
    note.textContent = text;
    note.hidden = !text;
  }
  return items.length;
}

/**
 * @param {RejectedEvent} item
 * @param {RejectedOptions} options
 */
function line(item, options) {
  const li = document.createElement("li");
  li.className = `rejected ${options.className || ""}`.trim();
  li.dataset.event = item.id;
  const { title, detail } = options.describe(item);
  const strong = document.createElement("strong");
  strong.textContent = title;
  li.append(strong);
  if (detail) {
    const span = document.createElement("span");
    span.className = "detail";
    span.textContent = detail;
    li.append(" ", span);
  }
  const reason = document.createElement("span");
  reason.className = "reason";
  reason.textContent = `${options.reasonPrefix || ""}${item.reason || "Refused."}`;
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.className = "link";
  dismiss.textContent = "Dismiss";
  dismiss.addEventListener("click", async () => {
    await dismissRejected(item.id);
    li.remove();
    if (options.onDismiss) options.onDismiss();
  });
  li.append(" ", reason, " ", dismiss);
  return li;
}

/**
 * The note after the list (made when there is something to say and the page has none).
 * @param {HTMLElement} list
 * @param {boolean} needed
 * @returns {HTMLElement | null}
 */
function noteAfter(list, needed) {
  const next = list.nextElementSibling;
  if (next instanceof HTMLElement && next.classList.contains("rejected-note")) return next;
  if (!needed) return null;
  const note = document.createElement("p");
  note.className = "muted rejected-note";
  list.after(note);
  return note;
}
