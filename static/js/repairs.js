// The receive-by-scan page: after each answer, empty the field and put the cursor back for the next scan.

/** @param {HTMLFormElement} form */
function readyForNextScan(form) {
  const field = /** @type {HTMLInputElement | null} */ (form.querySelector('input[name="code"]'));
  if (!field) return;
  field.value = '';
  field.focus();
}

/** Wire the receive form once the page has loaded. */
function wireReceiveForm() {
  const form = /** @type {HTMLFormElement | null} */ (document.querySelector('[data-receive-form]'));
  if (!form) return;
  document.body.addEventListener('htmx:afterSwap', (event) => {
    const target = /** @type {CustomEvent} */ (event).detail?.target;
    if (target && target.id === 'receive-result') readyForNextScan(form);
  });
}

wireReceiveForm();
