// The scan signal: a short beep and a vibration for each new scan, the same for the camera, a keyboard-wedge scanner
// and typing (each is optional in the browser). A low buzz says the code is unknown or could not be used.

/** @type {AudioContext | null} */
let audio = null;

/**
 * Create or resume the audio context. Browsers allow it only after a gesture, so the first touch or key anywhere
 * on the page unlocks it; a click handler may call this too.
 */
export function unlockAudio() {
  const Ctx = window.AudioContext || /** @type {any} */ (window).webkitAudioContext;
  if (!Ctx) return;
  try {
    audio = audio || new Ctx();
    if (audio.state === "suspended") audio.resume().catch(() => {});
  } catch {
    // No audio here: the vibration and the screen still say the scan registered.
  }
}

/** @param {number} hz */
function beep(hz) {
  const ctx = audio;
  if (!ctx || ctx.state !== "running") return;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = "square";
  osc.frequency.value = hz;
  gain.gain.setValueAtTime(0.08, ctx.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.09);
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  osc.stop(ctx.currentTime + 0.1);
}

/**
 * Sound and vibration for a new scan: a high beep and one buzz when it is good, a low beep and two when not.
 * @param {boolean} [ok]
 */
export function signalScan(ok = true) {
  beep(ok ? 1046 : 330);
  if (navigator.vibrate) navigator.vibrate(ok ? 60 : [40, 60, 40]);
}

addEventListener("pointerdown", unlockAudio, { once: true });
addEventListener("keydown", unlockAudio, { once: true });
