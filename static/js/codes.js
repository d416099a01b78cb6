// What a scanned or typed text names, and how codes are compared: one meaning on every page and in the worker,
// the same as the server's (app.tagcodes.scanned_value); both follow tests/cases/scanned_values.json.

/**
 * The value a scanned or typed text names: our QR tags hold BASE_URL/t/<code>, so it is the part after the last
 * "/t/" up to the first "?", "#" or "/"; any other text (a bare code, a serial from a barcode) is taken whole.
 * White space around it goes; case stays (callers fold it where they match).
 * @param {string | null | undefined} text
 * @returns {string}
 */
export function scannedValue(text) {
  const raw = (text || "").trim();
  const at = raw.lastIndexOf("/t/");
  return at >= 0 ? raw.slice(at + 3).split(/[?#/]/)[0].trim() : raw;
}

/**
 * Fold a code like the server does: no spaces, dashes, underscores or dots; upper case; look-alike letters read
 * as the characters our tag codes use.
 * @param {string | null | undefined} text
 * @returns {string}
 */
export function foldCode(text) {
  return (text || "")
    .replace(/[\s\-_.]+/g, "")
    .toUpperCase()
    .replace(/O/g, "0")
    .replace(/[IL]/g, "1")
    .replace(/U/g, "V");
}
