// Camera scanning: one rear-camera stream per page, QR tags and Code 128 / Code 39 serial stickers.
// Loaded with a dynamic import() only by pages that scan. Uses the browser's own BarcodeDetector when it reads
// every format we need, else the vendored ZXing WebAssembly build (served from our origin, never a CDN). What a
// scan names is codes.js's scannedValue, the same as typing it; each new one beeps and vibrates (signal.js).

import { scannedValue } from "./codes.js";
import { signalScan, unlockAudio } from "./signal.js";

/** The symbologies on our stickers: QR tags we print, Code 128 / Code 39 on manufacturers' serial labels. */
export const FORMATS = ["qr_code", "code_128", "code_39"];
/** A value read again within this many ms of its last sighting is the same scan, not a new one. */
export const REPEAT_MS = 2000;

const VENDOR = new URL("./vendor/", import.meta.url);
const PONYFILL = new URL("barcode-detector-3.2.2/ponyfill.js", VENDOR).href;
const WASM_DIR = new URL("zxing-wasm-3.1.3/", VENDOR).href;

/**
 * A detector for FORMATS: the native one when it supports them all, the ZXing wasm ponyfill otherwise.
 * @returns {Promise<{detector: {detect: (source: CanvasImageSource) => Promise<Array<{rawValue: string, format: string}>>}, kind: "native" | "zxing-wasm"}>}
 */
export async function createDetector() {
  const Native = /** @type {any} */ (globalThis).BarcodeDetector;
  if (Native && typeof Native.getSupportedFormats === "function") {
    try {
      const supported = await Native.getSupportedFormats();
      if (FORMATS.every((f) => supported.includes(f))) {
        return { detector: new Native({ formats: FORMATS }), kind: "native" };
      }
    } catch {
      // Fall through to the wasm build: some browsers expose the class but fail on use.
    }
  }
  const mod = await import(PONYFILL);
  // Fetch and compile the wasm now (alongside the camera permission prompt) so the first frame decodes at
  // once, and so a page whose CSP forbids WebAssembly fails here, with a message, rather than on every frame.
  await mod.prepareZXingModule({
    overrides: {
      locateFile: (/** @type {string} */ path, /** @type {string} */ prefix) =>
        path.endsWith(".wasm") ? WASM_DIR + path : prefix + path,
    },
    fireImmediately: true,
  });
  return { detector: new mod.BarcodeDetector({ formats: FORMATS }), kind: "zxing-wasm" };
}

/** @type {ReturnType<typeof createDetector> | null} */
let prepared = null;

/**
 * Start loading the detector now (the wasm is about 1 MB to fetch and compile), so the first frame decodes at
 * once and a page that goes offline after loading can still scan. Safe to call more than once.
 */
export function prepareDetector() {
  if (!prepared) {
    prepared = createDetector();
    prepared.catch(() => {
      prepared = null; // let a later attempt try again (and show its error)
    });
  }
  return prepared;
}

/**
 * What to tell a person when the camera cannot start; the typed field stays usable in every case.
 * @param {unknown} err
 */
export function cameraProblem(err) {
  const name = err && typeof err === "object" && "name" in err ? String(err.name) : "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "Camera permission was refused. You can still type or scan the code into the field below; to use the camera, allow it for this site in your browser's settings and try again.";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return "No camera was found on this device. Type or scan the code into the field below.";
  }
  if (name === "NotReadableError" || name === "AbortError") {
    return "The camera is busy in another app. Close it and try again, or type the code below.";
  }
  if (name === "CompileError" || name === "RuntimeError" || name === "EvalError") {
    return "This page cannot run the barcode reader. Type or scan the code into the field below.";
  }
  if (name === "insecure") {
    return "The camera needs a secure (https) connection. Type or scan the code into the field below.";
  }
  return "The camera could not start. Type or scan the code into the field below.";
}

/**
 * A camera scanner bound to a container element. It builds its own controls inside `root` (start/stop,
 * torch, message, video), keeps one stream open until the page goes away, and calls onScan once per new value.
 */
export class CameraScanner {
  /**
   * @param {HTMLElement} root
   * @param {{onScan: (value: string, scan: {raw: string, format: string, detectedAt: number}) => (boolean | void | Promise<boolean | void>), autoStart?: boolean}} options
   *   onScan may return false to signal an unknown code (a low buzz instead of the beep).
   */
  constructor(root, options) {
    this.root = root;
    this.onScan = options.onScan;
    /** @type {MediaStream | null} */
    this.stream = null;
    /** @type {any} */
    this.detector = null;
    this.kind = "";
    this.running = false;
    this.torchOn = false;
    /** @type {Map<string, number>} when each value was last seen, for the repeat window */
    this.seen = new Map();
    this.startButton = button("Start camera", "camera-start");
    this.torchButton = button("Torch", "camera-torch");
    this.stopButton = button("Stop camera", "camera-stop");
    this.message = document.createElement("p");
    this.video = document.createElement("video");
    this.build();
    addEventListener("pagehide", () => this.stop());
    if (options.autoStart) this.start();
  }

  build() {
    this.root.classList.add("camera");
    this.root.innerHTML = "";
    const bar = document.createElement("div");
    bar.className = "camera-bar";
    this.torchButton.hidden = true;
    this.torchButton.setAttribute("aria-pressed", "false");
    this.stopButton.hidden = true;
    bar.append(this.startButton, this.torchButton, this.stopButton);
    this.message.className = "camera-message";
    this.message.setAttribute("role", "status");
    this.message.setAttribute("aria-live", "polite");
    this.video.className = "camera-video";
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.setAttribute("playsinline", "");
    this.video.setAttribute("aria-label", "Camera view");
    this.video.hidden = true;
    this.root.append(bar, this.message, this.video);
    this.startButton.addEventListener("click", () => {
      unlockAudio();
      this.start();
    });
    this.stopButton.addEventListener("click", () => this.stop());
    this.torchButton.addEventListener("click", () => this.toggleTorch());
  }

  /** @param {string} text @param {"info" | "error"} [tone] */
  say(text, tone = "info") {
    this.message.textContent = text;
    this.message.dataset.tone = tone;
    this.root.dataset.state = tone === "error" ? "error" : this.root.dataset.state || "";
  }

  /** Open the rear camera (once) and start reading. */
  async start() {
    if (this.running) return;
    performance.mark("camera-start");
    this.startButton.disabled = true;
    this.root.dataset.state = "starting";
    this.say("Starting the camera…");
    try {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        throw Object.assign(new Error("no getUserMedia"), { name: "insecure" });
      }
      const [stream, det] = await Promise.all([
        this.stream
          ? Promise.resolve(this.stream)
          : navigator.mediaDevices.getUserMedia({
              audio: false,
              video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
            }),
        this.detector ? Promise.resolve({ detector: this.detector, kind: this.kind }) : prepareDetector(),
      ]);
      this.stream = stream;
      this.detector = det.detector;
      this.kind = det.kind;
      this.video.srcObject = stream;
      this.video.hidden = false;
      await this.video.play();
    } catch (err) {
      this.root.dataset.state = "error";
      this.startButton.disabled = false;
      this.startButton.hidden = false;
      this.video.hidden = true;
      this.say(cameraProblem(err), "error");
      return;
    }
    this.running = true;
    this.root.dataset.state = "running";
    this.root.dataset.detector = this.kind;
    this.startButton.hidden = true;
    this.stopButton.hidden = false;
    this.showTorch();
    this.say("Point the camera at a tag or a serial barcode.");
    this.loop();
  }

  /** Release the camera (its light goes off); Start opens it again. */
  stop() {
    this.running = false;
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
    this.video.hidden = true;
    this.torchButton.hidden = true;
    this.stopButton.hidden = true;
    this.startButton.hidden = false;
    this.startButton.disabled = false;
    this.root.dataset.state = "stopped";
  }

  showTorch() {
    const track = this.stream && this.stream.getVideoTracks()[0];
    const caps = track && typeof track.getCapabilities === "function" ? track.getCapabilities() : {};
    this.torchButton.hidden = !(caps && /** @type {any} */ (caps).torch);
  }

  async toggleTorch() {
    const track = this.stream && this.stream.getVideoTracks()[0];
    if (!track) return;
    const want = !this.torchOn;
    try {
      await track.applyConstraints(/** @type {any} */ ({ advanced: [{ torch: want }] }));
      this.torchOn = want;
      this.torchButton.setAttribute("aria-pressed", String(want));
    } catch {
      this.torchButton.hidden = true;
    }
  }

  /** Read frames as fast as the detector allows, one at a time, while the page is visible. */
  async loop() {
    while (this.running) {
      if (document.visibilityState === "visible" && this.video.readyState >= 2) {
        let codes = [];
        try {
          codes = await this.detector.detect(this.video);
        } catch {
          codes = [];
        }
        const detectedAt = performance.now();
        for (const code of codes) this.handle(code.rawValue, code.format, detectedAt);
      }
      await nextFrame(this.video);
    }
  }

  /**
   * @param {string} raw
   * @param {string} format
   * @param {number} detectedAt
   */
  handle(raw, format, detectedAt) {
    if (!raw) return;
    const last = this.seen.get(raw);
    this.seen.set(raw, detectedAt);
    if (last !== undefined && detectedAt - last < REPEAT_MS) return;
    if (!performance.getEntriesByName("camera-first-decode").length) {
      performance.mark("camera-first-decode");
      try {
        performance.measure("camera-start-to-decode", "camera-start", "camera-first-decode");
      } catch {
        // camera-start is always marked first; the guard keeps an odd browser from breaking scanning.
      }
    }
    const value = scannedValue(raw);
    this.root.dispatchEvent(new CustomEvent("camera:scan", { detail: { value, raw, format } }));
    Promise.resolve(this.onScan(value, { raw, format, detectedAt })).then(
      (ok) => signalScan(ok !== false),
      () => signalScan(false),
    );
  }
}

/** @param {string} text @param {string} cls */
function button(text, cls) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  b.textContent = text;
  return b;
}

/**
 * Resolve on the next decoded video frame (or animation frame where that callback is missing).
 * @param {HTMLVideoElement} video
 */
function nextFrame(video) {
  return new Promise((resolve) => {
    if (typeof video.requestVideoFrameCallback === "function" && !video.paused) {
      video.requestVideoFrameCallback(() => resolve(undefined));
    } else {
      requestAnimationFrame(() => resolve(undefined));
    }
  });
}

/**
 * Put a camera into every `[data-camera]` element on the page. By default a scan fills the text field named
 * by `data-camera-input` (a CSS selector) and submits its form, so the camera feeds the same path as a
 * keyboard-wedge scanner. Pass onScan to handle scans yourself.
 * @param {{onScan?: (value: string, scan: {raw: string, format: string, detectedAt: number}) => (boolean | void | Promise<boolean | void>)}} [options]
 * @returns {CameraScanner[]}
 */
export function mountCameras(options = {}) {
  return [...document.querySelectorAll("[data-camera]")].map((el) => {
    const root = /** @type {HTMLElement} */ (el);
    const onScan = options.onScan || ((value) => fillAndSubmit(root, value));
    return new CameraScanner(root, { onScan, autoStart: sessionStorage.getItem("camera-on") === "1" });
  });
}

/** @param {HTMLElement} root @param {string} value */
function fillAndSubmit(root, value) {
  const selector = root.dataset.cameraInput;
  const input = /** @type {HTMLInputElement | null} */ (selector ? document.querySelector(selector) : null);
  if (!input) return;
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  if (input.form) input.form.requestSubmit();
}

// Remember within the tab that the person turned the camera on, so the next scanning page starts it at once
// (the stream itself cannot outlive a page; within a page it stays open for every scan).
addEventListener("click", (event) => {
  const target = /** @type {HTMLElement} */ (event.target);
  if (target && target.classList) {
    if (target.classList.contains("camera-start")) sessionStorage.setItem("camera-on", "1");
    if (target.classList.contains("camera-stop")) sessionStorage.removeItem("camera-on");
  }
});
