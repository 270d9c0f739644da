// `recordingProgress`: a recording's page while the video is not ready yet (being recorded,
// waiting, being composed). The mentor's box follows the worker's `recording_progress` events (the
// step and percent as they are reported); everyone's page also asks the recording's API now and
// then (soon after opening, then less often), so a learner or an admin, who hear no events, and a
// mentor whose socket dropped, see it too. When the state changes (ready, failed, deleted) the page
// is loaded again: the server draws the player, or the error and "Try again".
import { getJSON } from '../http.js';
import { t } from '../i18n.js';
import { onRealtime } from '../realtime.js';

const POLL_SECONDS = [2, 3, 5, 10, 20];

// The composing job's steps reach the page in English, as stored (peerlearn/system_texts.py) and
// as the API answers them; the reader sees them in the page's language. A step this script does
// not know is shown as it came.
const COUNTED_STEPS = [
  [/^Unpacking feed (\d+) of (\d+)$/, (number, count) => t('Unpacking feed %(number)s of %(count)s', { number, count })],
  [/^Composing part (\d+) of (\d+)$/, (number, count) => t('Composing part %(number)s of %(count)s', { number, count })],
];

function stepText(step) {
  const steps = {
    'Waiting to be composed': t('Waiting to be composed'),
    Starting: t('Starting'),
    'Reading the feeds': t('Reading the feeds'),
    'Joining the parts': t('Joining the parts'),
    Composed: t('Composed'),
    'Storing the file': t('Storing the file'),
    Ready: t('Ready'),
    Failed: t('Failed'),
  };
  if (steps[step]) return steps[step];
  for (const [pattern, text] of COUNTED_STEPS) {
    const found = pattern.exec(step);
    if (found) return text(found[1], found[2]);
  }
  return step;
}

// Waiting and being composed are one state on the page ("being prepared"): only a move out of it
// (or out of "being recorded") draws the page again.
function phase(status) {
  return status === 'pending' || status === 'processing' ? 'preparing' : status;
}

export default function recordingProgress({ recordingId, url, status, progress = 0, step = '' } = {}) {
  return {
    progress,
    step,
    stop: null,
    timer: null,
    polls: 0,

    init() {
      this.stop = onRealtime('recording_progress', (event) => {
        if (event && event.recording_id === recordingId) this.heard(event);
      });
      this.schedule();
    },

    destroy() {
      if (this.stop) this.stop();
      clearTimeout(this.timer);
    },

    schedule() {
      const seconds = POLL_SECONDS[Math.min(this.polls, POLL_SECONDS.length - 1)];
      this.polls += 1;
      this.timer = setTimeout(() => this.poll(), seconds * 1000);
    },

    async poll() {
      if (document.visibilityState !== 'hidden') {
        try {
          const payload = await getJSON(url);
          this.heard(payload.data);
        } catch {
          // Offline for a moment, or signed out: the next try, or the socket, tells.
        }
      }
      this.schedule();
    },

    heard(news) {
      if (!news) return;
      if (news.status && phase(news.status) !== phase(status)) {
        clearTimeout(this.timer);
        window.location.reload();
        return;
      }
      if (news.progress !== undefined) this.progress = Math.max(0, Math.min(100, Number(news.progress) || 0));
      if (news.step || news.progress_step) this.step = news.step || news.progress_step;
    },

    get label() {
      return `${this.step ? stepText(this.step) : t('Waiting to be composed')}: ${this.progress}%`;
    },
  };
}
