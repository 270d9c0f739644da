// `countdown`: the time left before a session, and whether its room is open now (which shows the
// Join or Go live button). The server sends its clock with the times, so a device whose clock is
// off does not open the door early or late.

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// 2 days 3 h · 3 h 12 min · 12 min · 40 s
export function timeLeft(ms) {
  if (ms >= DAY) {
    const days = Math.floor(ms / DAY);
    const hours = Math.floor((ms % DAY) / HOUR);
    return `${days} day${days === 1 ? '' : 's'}${hours ? ` ${hours} h` : ''}`;
  }
  if (ms >= HOUR) {
    const hours = Math.floor(ms / HOUR);
    const minutes = Math.floor((ms % HOUR) / MINUTE);
    return `${hours} h${minutes ? ` ${minutes} min` : ''}`;
  }
  if (ms >= MINUTE) return `${Math.floor(ms / MINUTE)} min`;
  return `${Math.max(0, Math.floor(ms / 1000))} s`;
}

export default function countdown({ now, startsAt, opensAt, closesAt, joinable = false } = {}) {
  const skew = now ? Date.parse(now) - Date.now() : 0;
  const starts = Date.parse(startsAt);
  const opens = Date.parse(opensAt);
  const closes = Date.parse(closesAt);
  let timer = null;

  return {
    label: '',
    open: false,

    init() {
      this.tick();
      timer = setInterval(() => this.tick(), 1000);
    },

    destroy() {
      clearInterval(timer);
    },

    tick() {
      const at = Date.now() + skew;
      this.open = Boolean(joinable) && opens <= at && at < closes;
      if (at >= closes) {
        this.label = 'Ended';
        clearInterval(timer);
      } else if (at >= starts) {
        this.label = 'Started';
      } else if (at >= opens) {
        this.label = `Room open · starts in ${timeLeft(starts - at)}`;
      } else {
        this.label = `Starts in ${timeLeft(starts - at)}`;
      }
    },
  };
}
