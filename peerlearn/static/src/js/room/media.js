// Camera, microphone and screen capture, each bounded by a timeout: a missing or stuck device
// must fail fast with a message instead of leaving the page waiting forever.

import { t } from '../i18n.js';

const CAPTURE_TIMEOUT_MS = 8000;

export class CaptureError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CaptureError';
  }
}

// What went wrong with which device, each a whole sentence so it reads right in every language.
// Called when a capture fails, so the texts are the page's language by then.
function problems(what) {
  switch (what) {
    case 'camera':
      return {
        denied: t('Permission to use your camera was denied.'),
        missing: t('No camera was found.'),
        busy: t('Your camera is in use by another app.'),
        failed: t('Your camera could not be started.'),
        silent: t('Your camera did not respond.'),
      };
    case 'microphone':
      return {
        denied: t('Permission to use your microphone was denied.'),
        missing: t('No microphone was found.'),
        busy: t('Your microphone is in use by another app.'),
        failed: t('Your microphone could not be started.'),
        silent: t('Your microphone did not respond.'),
      };
    case 'screen':
      return {
        denied: t('Permission to use your screen was denied.'),
        missing: t('No screen was found.'),
        busy: t('Your screen is in use by another app.'),
        failed: t('Your screen could not be started.'),
        silent: t('Your screen did not respond.'),
      };
    default: // 'both': the camera and the microphone, asked for together
      return {
        denied: t('Permission to use your camera or microphone was denied.'),
        missing: t('No camera or microphone was found.'),
        busy: t('Your camera or microphone is in use by another app.'),
        failed: t('Your camera or microphone could not be started.'),
        silent: t('Your camera and microphone did not respond.'),
      };
  }
}

function describe(error, what) {
  const name = error && error.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') return problems(what).denied;
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return problems(what).missing;
  if (name === 'NotReadableError' || name === 'AbortError') return problems(what).busy;
  if (name === 'CaptureError') return error.message;
  return problems(what).failed;
}

// Resolves with the stream, or rejects with a CaptureError after `ms`. A stream that arrives
// after the timeout is stopped at once, so the camera light does not stay on.
function bounded(request, ms, what) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new CaptureError(problems(what).silent));
    }, ms);
    request.then(
      (stream) => {
        clearTimeout(timer);
        if (settled) stream.getTracks().forEach((track) => track.stop());
        else resolve(stream);
      },
      (error) => {
        clearTimeout(timer);
        if (!settled) reject(error);
      },
    );
  });
}

const VIDEO = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } };

function constraints(kind, deviceId) {
  if (kind === 'audio') return deviceId ? { deviceId: { exact: deviceId } } : true;
  return deviceId ? { ...VIDEO, deviceId: { exact: deviceId } } : VIDEO;
}

// Camera and microphone together; failing that, whichever one works; failing both, an empty
// result and the reasons, so the room can still be joined to watch and listen.
export async function captureLocal() {
  const media = navigator.mediaDevices;
  if (!media || !media.getUserMedia) {
    return { stream: null, problem: t('This browser cannot use a camera or microphone here.') };
  }
  try {
    const stream = await bounded(media.getUserMedia({ audio: true, video: VIDEO }), CAPTURE_TIMEOUT_MS, 'both');
    return { stream, problem: '' };
  } catch (both) {
    const reasons = [];
    for (const kind of ['audio', 'video']) {
      const what = kind === 'audio' ? 'microphone' : 'camera';
      try {
        const stream = await bounded(media.getUserMedia({ [kind]: constraints(kind) }), CAPTURE_TIMEOUT_MS, what);
        const only = kind === 'audio' ? t('Joined with your microphone only.') : t('Joined with your camera only.');
        return { stream, problem: `${describe(both, 'both')} ${only}` };
      } catch (error) {
        reasons.push(describe(error, what));
      }
    }
    return { stream: null, problem: `${reasons.join(' ')} ${t('You joined to watch and listen.')}` };
  }
}

export function captureDevice(kind, deviceId) {
  const what = kind === 'audio' ? 'microphone' : 'camera';
  return bounded(navigator.mediaDevices.getUserMedia({ [kind]: constraints(kind, deviceId) }), CAPTURE_TIMEOUT_MS, what)
    .catch((error) => {
      throw new CaptureError(describe(error, what));
    });
}

export function captureScreen() {
  const media = navigator.mediaDevices;
  if (!media || !media.getDisplayMedia) {
    return Promise.reject(new CaptureError(t('This browser cannot share its screen.')));
  }
  // Longer than the camera's timeout: the person is choosing what to share.
  return bounded(media.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false }), 60_000, 'screen')
    .catch((error) => {
      throw new CaptureError(error && error.name === 'NotAllowedError' ? t('Screen sharing was cancelled.') : describe(error, 'screen'));
    });
}

export async function listDevices() {
  const found = { audioinput: [], videoinput: [] };
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return found;
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const device of devices) {
    if (!found[device.kind] || !device.deviceId) continue;
    const list = found[device.kind];
        const number = list.length + 1;
    const fallback = device.kind === 'audioinput' ? t('Microphone %(number)s', { number }) : t('Camera %(number)s', { number });
    list.push({ id: device.deviceId, label: device.label || fallback });
  }
  return found;
}

// Speaking detection: one analyser per stream, read by a shared timer.
export class SpeechMeter {
  constructor() {
    this.context = null;
    this.meters = new Map();
  }

  watch(key, stream) {
    this.unwatch(key);
    if (!stream || stream.getAudioTracks().length === 0) return;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!this.context) this.context = new Context();
    const source = this.context.createMediaStreamSource(stream);
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    this.meters.set(key, { source, analyser, samples: new Uint8Array(analyser.fftSize), level: 0 });
  }

  unwatch(key) {
    const meter = this.meters.get(key);
    if (!meter) return;
    meter.source.disconnect();
    this.meters.delete(key);
  }

  // A page without a user gesture starts its AudioContext suspended.
  resume() {
    if (this.context && this.context.state === 'suspended') this.context.resume().catch(() => {});
  }

  // Keys whose level is above speech, smoothed so a word does not flicker the ring.
  speaking() {
    const result = new Set();
    for (const [key, meter] of this.meters) {
      meter.analyser.getByteTimeDomainData(meter.samples);
      let sum = 0;
      for (const sample of meter.samples) {
        const centred = (sample - 128) / 128;
        sum += centred * centred;
      }
      const rms = Math.sqrt(sum / meter.samples.length);
      meter.level = meter.level * 0.6 + rms * 0.4;
      if (meter.level > 0.02) result.add(key);
    }
    return result;
  }

  close() {
    for (const key of [...this.meters.keys()]) this.unwatch(key);
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
  }
}
