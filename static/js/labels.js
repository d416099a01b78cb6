// The label sheet: a Print button (inline handlers are not allowed by the CSP).

/** Open the browser's print dialog when a [data-print] button is pressed. */
function wirePrintButtons() {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
}

wirePrintButtons();
