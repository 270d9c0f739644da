// `countdown`: the time left before a session, and whether its room is open now (which shows the
// Join or Go live button). The server sends its clock with the times, so a device whose clock is
// off does not open the door early or late.
//
// It stops for good, saying so, once the session is over: when the room's closing time passes,
// when the page was rendered after the session completed or was cancelled (`status`), or when the
// user's socket hears `session:ended` for this session (the mentor ended it for everyone).

import { t, tn } from '../i18n.js';
import { onRealtime } from '../realtime.js';

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// Worded when shown (js/i18n.js): the page's texts are read once the page is there.
const FINAL_LABELS = { completed: () => t('Ended'), cancelled: () => t('Cancelled') };

// 2 days 3 h · 3 h 12 min · 12 min · 40 s (never below 0 s)
export function timeLeft(ms) {
  const left = Math.max(0, ms);
  if (left >= DAY) {
    const days = Math.floor(left / DAY);
    const hours = Math.floor((left % DAY) / HOUR);
    const dayText = tn('%(num)s day', '%(num)s days', days, { num: days });
    return hours ? `${dayText} ${t('%(num)s h', { num: hours })}` : dayText;
  }
  if (left >= HOUR) {
    const hours = Math.floor(left / HOUR);
    const minutes = Math.floor((left % HOUR) / MINUTE);
    const hourText = t('%(num)s h', { num: hours });
    return minutes ? `${hourText} ${t('%(num)s min', { num: minutes })}` : hourText;
  }
  if (left >= MINUTE) return t('%(num)s min', { num: Math.floor(left / MINUTE) });
  return t('%(num)s s', { num: Math.floor(left / 1000) });
}

export default function countdown({
  now,
  startsAt,
  opensAt,
  closesAt,
  joinable = false,
  sessionId = null,
  status = 'scheduled',
} = {}) {
  const skew = now ? Date.parse(now) - Date.now() : 0;
  const starts = Date.parse(startsAt);
  const opens = Date.parse(opensAt);
  const closes = Date.parse(closesAt);
  let timer = null;
  let unsubscribe = () => {};

  return {
    label: '',
    open: false,
    ended: false,

    init() {
      if (FINAL_LABELS[status]) {
        this.finish(FINAL_LABELS[status]());
        return;
      }
      if (sessionId !== null) {
        unsubscribe = onRealtime('session:ended', (event) => {
          if (event && event.session_id === sessionId) this.finish(FINAL_LABELS.completed());
        });
      }
      this.tick();
      if (!this.ended) timer = setInterval(() => this.tick(), 1000);
    },

    destroy() {
      clearInterval(timer);
      unsubscribe();
    },

    finish(label) {
      clearInterval(timer);
      timer = null;
      this.open = false;
      this.ended = true;
      this.label = label;
    },

    tick() {
      if (this.ended) return;
      const at = Date.now() + skew;
      if (at >= closes) {
        this.finish(FINAL_LABELS.completed());
        return;
      }
      this.open = Boolean(joinable) && opens <= at;
      if (status === 'live') {
        this.label = t('Live now');
      } else if (at >= starts) {
        this.label = t('Started');
      } else if (at >= opens) {
        this.label = t('Room open · starts in %(time)s', { time: timeLeft(starts - at) });
      } else {
        this.label = t('Starts in %(time)s', { time: timeLeft(starts - at) });
      }
    },
  };
}
