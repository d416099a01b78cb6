// The header's account menu and the phone's "More" sheet are <details> (open and close with Enter or Space, no
// script needed). This adds what people expect of a menu: Escape closes it and gives focus back to its button,
// a tap outside closes it, and opening one closes the other.

/** @returns {HTMLDetailsElement[]} */
function openMenus() {
  return /** @type {HTMLDetailsElement[]} */ ([...document.querySelectorAll("details.menu[open], details.more[open]")]);
}

/**
 * Close a menu; with focus inside it (or on nothing), give focus back to its summary.
 * @param {HTMLDetailsElement} menu
 * @param {boolean} refocus
 */
function closeMenu(menu, refocus) {
  menu.open = false;
  const summary = /** @type {HTMLElement | null} */ (menu.querySelector("summary"));
  if (refocus && summary) summary.focus();
}

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const menu of openMenus()) {
    const focused = document.activeElement;
    closeMenu(menu, !focused || focused === document.body || menu.contains(focused));
  }
});

document.addEventListener("click", (event) => {
  const target = /** @type {Node | null} */ (event.target);
  for (const menu of openMenus()) {
    if (!target || !menu.contains(target)) closeMenu(menu, false);
  }
});

document.addEventListener(
  "toggle",
  (event) => {
    const opened = /** @type {HTMLDetailsElement} */ (event.target);
    if (!opened.matches || !opened.matches("details.menu, details.more") || !opened.open) return;
    for (const menu of openMenus()) if (menu !== opened) closeMenu(menu, false);
  },
  true,
);
