// Sends a recording's parts to the server, one at a time and in order, from the store that keeps them:
// PUT …/recording/parts/{n}. A part leaves the store only once the server has confirmed it. Network errors,
// 5xx, 408 and 429 are retried with backoff (sooner when the browser says it is back online); a refusal that
// retrying cannot fix stops the uploader with a message for the clinician.

const MAX_DELAY_MS = 30000;

export class PartUploader {
  constructor({ partsUrl, session, store, csrfToken, onChange }) {
    this.partsUrl = partsUrl;
    this.session = session;
    this.store = store;
    this.csrfToken = csrfToken;
    this.onChange = onChange || (() => {});
    this.pending = new Map(); // n -> seconds
    this.inMemory = new Map(); // n -> part, for parts the store could not keep
    this.confirmed = new Map(); // n -> seconds
    this.lastSent = null; // the last confirmed part, repeated while paused to say the recorder is still there
    this.running = false;
    this.problem = null; // {kind: "offline" | "login" | "refused", message}
    this.stoppedBy = null; // a refusal that ends this recording
    this.delay = 0;
    this.waiters = [];
    this.wake = null;
    window.addEventListener("online", () => this.wake && this.wake());
  }

  // Part n is in the store; ``blob`` only when the store could not keep it (sent from memory then).
  add(n, seconds, blob) {
    if (this.stoppedBy) return;
    this.pending.set(n, seconds);
    if (blob) this.inMemory.set(n, { session: this.session, n, blob, seconds });
    this.run();
  }

  // Parts the server already has (listed by GET …/recording/parts): counted as confirmed.
  markConfirmed(n, seconds) {
    this.confirmed.set(n, seconds);
  }

  // Seconds recorded up to the end of the last part such that every part before it is on the server.
  savedSeconds() {
    let n = 0;
    let seconds = null;
    while (this.confirmed.has(n)) {
      seconds = this.confirmed.get(n);
      n += 1;
    }
    return seconds;
  }

  get idle() {
    return this.pending.size === 0 && !this.running;
  }

  // Resolves once every part added so far is on the server (or rejects if a refusal ended the recording).
  drained() {
    if (this.stoppedBy) return Promise.reject(this.stoppedBy);
    if (this.idle) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  settle() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      if (this.stoppedBy) waiter.reject(this.stoppedBy);
      else waiter.resolve();
    }
  }

  async run() {
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending.size && !this.stoppedBy) {
        const n = Math.min(...this.pending.keys());
        const part = this.inMemory.get(n) || (await this.store.getPart(this.session, n));
        if (!part) {
          this.pending.delete(n);
          continue;
        }
        const outcome = await this.send(part);
        if (outcome.kind === "ok") {
          await this.store.deletePart(this.session, n);
          this.pending.delete(n);
          this.inMemory.delete(n);
          this.confirmed.set(n, part.seconds);
          this.lastSent = part;
          this.problem = null;
          this.delay = 0;
        } else if (outcome.kind === "drop") {
          await this.store.deletePart(this.session, n);
          this.pending.delete(n);
          this.inMemory.delete(n);
          this.problem = { kind: "refused", message: outcome.message };
        } else if (outcome.kind === "stop") {
          this.stoppedBy = new Error(outcome.message);
          this.stoppedBy.reason = outcome.reason;
          this.problem = { kind: "refused", message: outcome.message };
        } else {
          this.problem = { kind: outcome.kind, message: outcome.message };
          this.onChange(this);
          await this.pause(outcome.retryAfterMs);
        }
        this.onChange(this);
      }
    } finally {
      this.running = false;
      this.onChange(this);
      if (this.idle || this.stoppedBy) this.settle();
    }
  }

  pause(retryAfterMs) {
    this.delay = Math.min(MAX_DELAY_MS, Math.max(1000, this.delay * 2));
    const wait = Math.max(this.delay, retryAfterMs || 0);
    return new Promise((resolve) => {
      const timer = window.setTimeout(finish, wait);
      const self = this;
      function finish() {
        window.clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = finish;
    });
  }

  headers(part) {
    const headers = {
      Accept: "application/json",
      "Content-Type": part.blob.type || "application/octet-stream",
      "X-CSRFToken": this.csrfToken(),
    };
    if (typeof part.seconds === "number" && isFinite(part.seconds)) headers["X-Recorded-Seconds"] = part.seconds.toFixed(3);
    return headers;
  }

  async send(part) {
    let response;
    try {
      response = await fetch(this.partsUrl + "/" + part.n, {
        method: "PUT",
        body: part.blob,
        headers: this.headers(part),
        credentials: "same-origin",
      });
    } catch (error) {
      return { kind: "offline", message: "No connection to the server." };
    }
    if (response.status === 200 || response.status === 201) return { kind: "ok" };
    let error = null;
    try {
      error = (await response.json()).error;
    } catch (ignored) {
      error = null;
    }
    const message = (error && error.message) || "The server answered HTTP " + response.status + ".";
    const reason = error && error.details ? error.details.reason : null;
    if (response.status === 429) {
      const seconds = Number(response.headers.get("Retry-After")) || 5;
      return { kind: "offline", message: "The server asks to slow down.", retryAfterMs: seconds * 1000 };
    }
    if (response.status >= 500 || response.status === 408) return { kind: "offline", message };
    if (response.status === 401 || response.status === 403) {
      return {
        kind: "login",
        message: "Your login has expired. Log in again in another tab: the recording is kept in this browser and sent then.",
        retryAfterMs: 10000,
      };
    }
    if (response.status === 409 || response.status === 404) {
      return { kind: "stop", message, reason: reason || (error && error.code) };
    }
    return { kind: "drop", message: "Part " + part.n + " was refused: " + message };
  }

  // While paused, repeat the last confirmed part: the server then knows the recording is not abandoned.
  async keepAlive() {
    if (!this.lastSent || !this.idle || this.stoppedBy) return;
    try {
      await fetch(this.partsUrl + "/" + this.lastSent.n, {
        method: "PUT",
        body: this.lastSent.blob,
        headers: this.headers(this.lastSent),
        credentials: "same-origin",
      });
    } catch (ignored) {
      // Offline while paused: the next part, or the next repeat, tells the server.
    }
  }
}
