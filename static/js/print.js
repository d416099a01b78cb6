// Pages meant for paper (the packing list): a Print button, since the CSP allows no inline handlers.

/** Open the browser's print dialog when a [data-print] button is pressed. */
function wirePrintButtons() {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
}

wirePrintButtons();
