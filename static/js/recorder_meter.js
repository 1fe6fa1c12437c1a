// The microphone's level (Web Audio AnalyserNode), for the meter, and a warning when the input has been
// silent for a while (a muted or unplugged microphone records nothing useful).

const TICK_MS = 100;
// About -50 dBFS: below this the input is taken for silence.
const SILENCE_RMS = 0.003;

export class LevelMeter {
  constructor(stream, { onLevel, onSilence, silenceMs = 10000 }) {
    const AudioContextClass = window.AudioContext || window.webkitAudioContext;
    this.context = new AudioContextClass();
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 2048;
    this.source = this.context.createMediaStreamSource(stream);
    this.source.connect(this.analyser);
    this.samples = new Float32Array(this.analyser.fftSize);
    this.onLevel = onLevel;
    this.onSilence = onSilence;
    this.silenceMs = silenceMs;
    this.silentFor = 0;
    this.warned = false;
    this.active = true;
    // A timer rather than animation frames: frames stop in a background tab, the silence check must not.
    this.timer = window.setInterval(() => this.tick(), TICK_MS);
    if (this.context.state === "suspended") this.context.resume();
  }

  tick() {
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const sample of this.samples) sum += sample * sample;
    const rms = Math.sqrt(sum / this.samples.length);
    // -60 dBFS shows as empty, 0 dBFS as full.
    const level = rms > 0 ? Math.min(1, Math.max(0, (20 * Math.log10(rms) + 60) / 60)) : 0;
    this.onLevel(level);
    if (!this.active) return;
    if (rms < SILENCE_RMS) {
      this.silentFor += TICK_MS;
      if (this.silentFor >= this.silenceMs && !this.warned) {
        this.warned = true;
        this.onSilence(true);
      }
    } else {
      this.silentFor = 0;
      if (this.warned) {
        this.warned = false;
        this.onSilence(false);
      }
    }
  }

  // Paused: nothing is recorded, so silence is expected and not warned about.
  setActive(active) {
    this.active = active;
    this.silentFor = 0;
    if (!active && this.warned) {
      this.warned = false;
      this.onSilence(false);
    }
  }

  stop() {
    window.clearInterval(this.timer);
    this.source.disconnect();
    this.context.close();
    this.onLevel(0);
    if (this.warned) this.onSilence(false);
  }
}
