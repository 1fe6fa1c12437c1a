// Records the session in the browser: MediaRecorder hands over a part every few seconds, each part is kept in
// IndexedDB and sent to the server (PUT …/recording/parts/{n}) until it is confirmed; on stop the server
// assembles the parts (POST …/recording/parts/complete) and the page starts processing, as an upload does.
// A reload or a closed tab loses at most the part being recorded: the next visit sends what was kept.

import { LevelMeter } from "./recorder_meter.js";
import { openStore } from "./recorder_store.js";
import { PartUploader } from "./recorder_uploader.js";

// Opus in WebM where the browser has it (Chrome, Firefox, Edge); MP4 where it has not (Safari on iOS and macOS).
const MIME_TYPES = ["audio/webm;codecs=opus", "audio/webm", "audio/mp4;codecs=mp4a.40.2", "audio/mp4", "audio/ogg;codecs=opus"];
// Enough for speech in mono; an hour is about 21 MB.
const AUDIO_BITS_PER_SECOND = 48000;
// A paused recorder repeats its last part this often, so the server does not take it for abandoned.
const KEEP_ALIVE_MS = 60000;
const ACTIVE_STATES = new Set(["starting", "recording", "paused", "stopping", "finishing"]);

export function pickMimeType(isTypeSupported) {
  return MIME_TYPES.find((type) => isTypeSupported(type)) || "";
}

export function formatClock(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = String(whole % 60).padStart(2, "0");
  return hours ? hours + ":" + String(minutes).padStart(2, "0") + ":" + secs : minutes + ":" + secs;
}

function readCookie(name) {
  if (!name) return "";
  for (const pair of document.cookie.split(";")) {
    const [key, ...rest] = pair.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

function sleep(ms) {
  return new Promise((resolve) => window.setTimeout(resolve, ms));
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) return body.error.message;
  } catch (ignored) {
    // not the API's envelope
  }
  return "The server answered HTTP " + response.status + ".";
}

class Recorder {
  constructor(root) {
    const find = (id) => document.getElementById(id);
    this.root = root;
    this.session = root.dataset.session;
    this.partsUrl = root.dataset.partsUrl;
    this.completeUrl = root.dataset.completeUrl;
    this.timeslice = Number(root.dataset.timesliceMs) || 5000;
    this.panel = find("recorder-panel");
    this.hint = find("recorder-hint");
    this.buttons = {
      start: find("recorder-start"),
      pause: find("recorder-pause"),
      resume: find("recorder-resume"),
      stop: find("recorder-stop"),
    };
    this.deviceField = find("recorder-device-field");
    this.deviceSelect = find("recorder-device");
    this.timer = find("recorder-timer");
    this.level = find("recorder-level");
    this.stateLabel = find("recorder-state");
    this.savedLabel = find("recorder-saved");
    this.silence = find("recorder-silence");
    this.error = find("recorder-error");
    this.processForm = find("recorder-process-form");
    this.elapsedBefore = 0;
    this.segmentStart = null;
    this.nextN = 0;
    this.chain = Promise.resolve();
    this.problemKind = null;
  }

  csrfToken() {
    const field = this.processForm.querySelector("[name=csrfmiddlewaretoken]");
    // The cookie first: it is renewed when the clinician logs in again in another tab.
    return readCookie(this.root.dataset.csrfCookie) || (field ? field.value : "");
  }

  newUploader() {
    return new PartUploader({
      partsUrl: this.partsUrl,
      session: this.session,
      store: this.store,
      csrfToken: () => this.csrfToken(),
      onChange: () => this.uploadChanged(),
    });
  }

  async init() {
    if (!window.MediaRecorder || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      document.getElementById("recorder-unsupported").hidden = false;
      return;
    }
    this.panel.hidden = false;
    this.holdInterruptedForms();
    let handled = false;
    try {
      handled = await this.prepare();
    } finally {
      // Whatever happens on the way, the offer to finish or discard the interrupted recording acts again.
      if (!handled) this.releaseInterruptedForms();
    }
    if (handled) return;
    // When recording is not possible yet, the hint above the button says why.
    this.setState("idle", this.canRecord() ? "Ready to record." : "");
    this.buttons.start.disabled = !this.canRecord();
  }

  // Opens the browser's store, wires the controls and sends what an earlier visit kept; true when that took
  // the page over (the parts are being finished, or the page reloads).
  async prepare() {
    this.store = await openStore();
    this.uploader = this.newUploader();
    this.buttons.start.addEventListener("click", () => this.start());
    this.buttons.pause.addEventListener("click", () => this.pause());
    this.buttons.resume.addEventListener("click", () => this.resume());
    this.buttons.stop.addEventListener("click", () => this.stop());
    document.addEventListener("visibilitychange", () => this.visibilityChanged());
    // A tab being closed: hand over what was recorded since the last part, in case there is time to keep it.
    window.addEventListener("pagehide", () => {
      if (this.root.dataset.state === "recording") this.mediaRecorder.requestData();
    });
    window.addEventListener("beforeunload", (event) => {
      if (ACTIVE_STATES.has(this.root.dataset.state)) event.preventDefault();
    });
    if (navigator.mediaDevices.addEventListener) {
      navigator.mediaDevices.addEventListener("devicechange", () => this.listDevices());
    }
    await this.listDevices();
    return this.sendLeftovers();
  }

  canRecord() {
    return this.root.dataset.consent === "given" && this.root.dataset.unfinished !== "true";
  }

  // The server's offer to finish or discard an interrupted recording must not act before the parts this
  // browser still keeps of it have been sent: a click meanwhile is held and carried out once they are.
  holdInterruptedForms() {
    this.interruptedForms = Array.from(document.querySelectorAll("#interrupted-recording form"));
    this.heldForm = null;
    this.formsHeld = true;
    for (const form of this.interruptedForms) {
      form.addEventListener("submit", (event) => {
        if (!this.formsHeld) return;
        event.preventDefault();
        this.heldForm = form;
        this.setInterruptedButtonsDisabled(true);
        this.setState("resending", "Sending what this browser kept of the recording first…");
      });
    }
  }

  setInterruptedButtonsDisabled(disabled) {
    for (const form of this.interruptedForms) {
      for (const button of form.querySelectorAll("button")) button.disabled = disabled;
    }
  }

  // Lets the offer act again; a click held meanwhile goes ahead (submit() does not pass the hold again).
  releaseInterruptedForms(carryOut = true) {
    this.formsHeld = false;
    const held = this.heldForm;
    this.heldForm = null;
    if (held && carryOut) {
      held.submit();
      return true;
    }
    this.setInterruptedButtonsDisabled(false);
    return false;
  }

  // Parts an earlier visit kept in this browser (a reload, a closed tab, a lost connection): send them, then
  // finish the recording if it had been stopped, or show the server's offer to finish or discard it.
  async sendLeftovers() {
    const leftovers = await this.store.partsOf(this.session);
    const kept = await this.store.getRecording(this.session);
    const unfinished = this.root.dataset.unfinished === "true";
    if (!leftovers.length && !(kept && kept.stopped && unfinished)) {
      if (kept && !unfinished) await this.store.deleteRecording(this.session);
      return false;
    }
    this.buttons.start.disabled = true;
    if (leftovers.length) {
      const count = leftovers.length === 1 ? "1 part" : leftovers.length + " parts";
      this.setState("resending", "Sending " + count + " of an earlier recording kept in this browser…");
      for (const part of leftovers) this.uploader.add(part.n, part.seconds);
      try {
        await this.uploader.drained();
      } catch (refused) {
        await this.store.clearParts(this.session);
        await this.store.deleteRecording(this.session);
        // The clinician decides again, knowing that some parts did not arrive.
        this.releaseInterruptedForms(false);
        this.showError("The parts kept in this browser could not be sent: " + refused.message);
        this.setState("idle", "");
        return true;
      }
    }
    if (kept && kept.stopped) {
      await this.finish();
      if (this.root.dataset.state === "error") this.releaseInterruptedForms(false);
    } else if (!this.releaseInterruptedForms()) {
      this.setState("resending", "Sent. Reloading the page…");
      window.location.reload();
    }
    return true;
  }

  async listDevices() {
    if (!navigator.mediaDevices.enumerateDevices) return;
    let devices;
    try {
      devices = (await navigator.mediaDevices.enumerateDevices()).filter((device) => device.kind === "audioinput");
    } catch (ignored) {
      return;
    }
    const chosen = this.deviceSelect.value;
    this.deviceSelect.replaceChildren(
      ...devices.map((device, index) => new Option(device.label || "Microphone " + (index + 1), device.deviceId))
    );
    if (chosen && devices.some((device) => device.deviceId === chosen)) this.deviceSelect.value = chosen;
    this.deviceField.hidden = devices.length < 2;
  }

  constraints() {
    const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 };
    const chosen = this.deviceSelect.value;
    if (chosen && chosen !== "default") audio.deviceId = { exact: chosen };
    return audio;
  }

  async start() {
    this.hideError();
    this.buttons.start.disabled = true;
    this.setState("starting", "Starting the microphone…");
    try {
      if (this.root.dataset.completed === "true") {
        // This session's previous recording in the browser was finished: a new one starts again from part 0.
        const response = await fetch(this.partsUrl, {
          method: "DELETE",
          headers: { Accept: "application/json", "X-CSRFToken": this.csrfToken() },
          credentials: "same-origin",
        });
        if (!response.ok) throw new Error(await errorMessage(response));
        this.root.dataset.completed = "false";
      }
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: this.constraints() });
    } catch (error) {
      this.buttons.start.disabled = false;
      this.setState("idle", "Not recording.");
      this.showError(this.microphoneProblem(error));
      return;
    }
    await this.listDevices();
    const mimeType = pickMimeType((type) => MediaRecorder.isTypeSupported(type));
    const options = { audioBitsPerSecond: AUDIO_BITS_PER_SECOND };
    if (mimeType) options.mimeType = mimeType;
    this.mediaRecorder = new MediaRecorder(this.stream, options);
    this.abandoned = false;
    this.nextN = 0;
    this.chain = Promise.resolve();
    this.uploader = this.newUploader();
    await this.store.clearParts(this.session);
    await this.store.putRecording(this.session, { stopped: false, startedAt: Date.now() });
    this.mediaRecorder.addEventListener("dataavailable", (event) => this.keep(event));
    this.mediaRecorder.addEventListener("stop", () => this.stopped());
    this.mediaRecorder.addEventListener("error", (event) => {
      this.showError(
        "Recording stopped because of an error (" + (event.error ? event.error.name : "unknown") + "). " +
          "What was recorded until now is kept."
      );
    });
    this.mediaRecorder.start(this.timeslice);
    this.elapsedBefore = 0;
    this.segmentStart = performance.now();
    this.clock = window.setInterval(() => this.tick(), 250);
    this.tick();
    this.meter = new LevelMeter(this.stream, {
      onLevel: (value) => {
        this.level.value = value;
      },
      onSilence: (silent) => {
        this.silence.hidden = !silent;
      },
    });
    this.lockScreen();
    this.deviceSelect.disabled = true;
    this.show({ pause: true, stop: true });
    this.buttons.pause.focus();
    this.setState("recording", "Recording.");
    this.showSaved();
  }

  microphoneProblem(error) {
    if (error && error.name === "NotAllowedError") {
      return "Microphone access was refused. Allow it for this site in the browser's settings, then press Record again.";
    }
    if (error && (error.name === "NotFoundError" || error.name === "OverconstrainedError")) {
      return "No microphone was found. Connect one (or choose another), then press Record again.";
    }
    return "Recording could not start: " + (error && error.message ? error.message : error);
  }

  elapsed() {
    return this.elapsedBefore + (this.segmentStart === null ? 0 : (performance.now() - this.segmentStart) / 1000);
  }

  tick() {
    const seconds = this.elapsed();
    this.timer.textContent = formatClock(seconds);
    this.root.dataset.elapsed = seconds.toFixed(1);
  }

  keep(event) {
    if (!event.data || event.data.size === 0) return;
    const n = this.nextN;
    this.nextN += 1;
    const seconds = this.elapsed();
    const blob = event.data;
    this.chain = this.chain.then(async () => {
      try {
        await this.store.putPart(this.session, n, blob, seconds);
        this.uploader.add(n, seconds);
      } catch (error) {
        // The browser's storage is full or unavailable: still send it, from memory.
        this.uploader.add(n, seconds, blob);
      }
    });
  }

  pause() {
    // What was recorded so far goes to the server now, not at the next timeslice.
    this.mediaRecorder.requestData();
    this.mediaRecorder.pause();
    this.elapsedBefore = this.elapsed();
    this.segmentStart = null;
    this.tick();
    this.meter.setActive(false);
    this.keepAlive = window.setInterval(() => this.uploader.keepAlive(), KEEP_ALIVE_MS);
    this.show({ resume: true, stop: true });
    this.buttons.resume.focus();
    this.setState("paused", "Paused. Nothing is being recorded.");
  }

  resume() {
    window.clearInterval(this.keepAlive);
    this.mediaRecorder.resume();
    this.segmentStart = performance.now();
    this.meter.setActive(true);
    this.show({ pause: true, stop: true });
    this.buttons.pause.focus();
    this.setState("recording", "Recording resumed.");
  }

  stop() {
    this.show({});
    this.setState("stopping", "Stopped. Saving the last part…");
    this.stateLabel.focus();
    // A last part is handed over, then "stop" fires (this.stopped).
    this.mediaRecorder.stop();
  }

  async stopped() {
    this.elapsedBefore = this.elapsed();
    this.segmentStart = null;
    window.clearInterval(this.clock);
    window.clearInterval(this.keepAlive);
    this.tick();
    this.meter.stop();
    for (const track of this.stream.getTracks()) track.stop();
    this.releaseScreen();
    this.deviceSelect.disabled = false;
    await this.chain;
    if (this.abandoned) return;
    await this.store.putRecording(this.session, { stopped: true, stoppedAt: Date.now() });
    if (!this.uploader.idle) this.setState("stopping", "Stopped. Saving the last parts…");
    try {
      await this.uploader.drained();
    } catch (refused) {
      this.refused(refused);
      return;
    }
    await this.finish();
  }

  // Ask the server to assemble the parts; once it has, start processing as the upload form does.
  async finish() {
    this.setState("finishing", "Finishing the recording…");
    let delay = 1000;
    for (;;) {
      let response = null;
      try {
        response = await fetch(this.completeUrl, {
          method: "POST",
          headers: { Accept: "application/json", "X-CSRFToken": this.csrfToken() },
          credentials: "same-origin",
        });
      } catch (ignored) {
        response = null;
      }
      if (response && (response.status === 200 || response.status === 201)) break;
      if (response && response.status < 500 && response.status !== 429 && response.status !== 408) {
        const message = await errorMessage(response);
        await this.store.deleteRecording(this.session);
        this.showError(
          "The recording could not be finished: " + message +
            " Its parts are kept on the server: reload the page to finish or discard it."
        );
        this.setState("error", "The recording was not finished.");
        return;
      }
      this.setState("finishing", "Waiting for the connection to finish the recording…");
      await sleep(delay);
      delay = Math.min(30000, delay * 2);
    }
    await this.store.clearParts(this.session);
    await this.store.deleteRecording(this.session);
    this.setState("saved", "Saved. Starting processing…");
    this.processForm.submit();
  }

  uploadChanged() {
    this.showSaved();
    const uploader = this.uploader;
    if (uploader.stoppedBy && ["recording", "paused"].includes(this.root.dataset.state)) {
      this.refused(uploader.stoppedBy);
      this.abandoned = true;
      this.mediaRecorder.stop();
      return;
    }
    const kind = uploader.problem ? uploader.problem.kind : null;
    if (kind === this.problemKind) return;
    this.problemKind = kind;
    if (kind === "refused") {
      this.showError(uploader.problem.message);
    } else if (!["recording", "paused", "stopping"].includes(this.root.dataset.state)) {
      return;
    } else if (kind === "offline") {
      this.stateLabel.textContent = this.stateText() + " Connection lost: the audio is kept in this browser and sent when it returns.";
    } else if (kind === "login") {
      this.stateLabel.textContent = this.stateText() + " " + uploader.problem.message;
    } else {
      this.stateLabel.textContent = this.stateText() + " Connection back: the audio is being saved again.";
    }
  }

  stateText() {
    return { recording: "Recording.", paused: "Paused.", stopping: "Stopped." }[this.root.dataset.state] || "";
  }

  refused(error) {
    const ended = error.reason === "recording_completed" ? " This recording was already finished elsewhere." : "";
    this.showError("The recording stopped: " + error.message + ended);
    this.setState("error", "Not recording.");
    this.store.clearParts(this.session);
    this.store.deleteRecording(this.session);
  }

  showSaved() {
    const seconds = this.uploader.savedSeconds();
    this.root.dataset.savedSeconds = seconds === null ? "" : seconds.toFixed(1);
    const waiting = this.uploader.pending.size;
    let text = seconds === null ? "" : "Saved on the server up to " + formatClock(seconds) + ".";
    if (waiting && this.uploader.problem && this.uploader.problem.kind !== "refused") {
      text += " " + (waiting === 1 ? "1 part" : waiting + " parts") + " waiting in this browser.";
    }
    this.savedLabel.textContent = text.trim();
  }

  visibilityChanged() {
    const state = this.root.dataset.state;
    if (document.visibilityState === "hidden" && state === "recording") {
      // A phone may end a hidden tab: hand over what was recorded so far.
      this.mediaRecorder.requestData();
    } else if (document.visibilityState === "visible" && ["recording", "paused"].includes(state)) {
      if (!this.wakeLock || this.wakeLock.released) this.lockScreen();
    }
  }

  async lockScreen() {
    if (!("wakeLock" in navigator)) return;
    try {
      this.wakeLock = await navigator.wakeLock.request("screen");
    } catch (ignored) {
      this.wakeLock = null; // refused (battery saver, a hidden tab): recording goes on regardless
    }
  }

  releaseScreen() {
    if (this.wakeLock) this.wakeLock.release().catch(() => {});
    this.wakeLock = null;
  }

  show(visible) {
    for (const [name, button] of Object.entries(this.buttons)) {
      if (name === "start") {
        button.hidden = Boolean(visible.pause || visible.resume);
        continue;
      }
      button.hidden = !visible[name];
    }
    this.buttons.start.disabled = true;
  }

  setState(state, text) {
    this.root.dataset.state = state;
    this.stateLabel.textContent = text;
    this.problemKind = null;
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = false;
  }

  hideError() {
    this.error.hidden = true;
    this.error.textContent = "";
  }
}

const root = document.getElementById("recorder");
if (root) new Recorder(root).init();
