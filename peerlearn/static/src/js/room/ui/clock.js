// The room's clock, kept on the server's time: the page is given the server's "now" once and
// keeps the difference, so a device whose clock is minutes off still counts down right.

import { t } from '../../i18n.js';

const MINUTE = 60 * 1000;

// Times from the server carry an offset; one without is UTC.
export function parseTime(value) {
  if (!value) return null;
  const text = /([zZ]|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value}Z`;
  const time = Date.parse(text);
  return Number.isNaN(time) ? null : time;
}

// Server time minus device time, in milliseconds.
export function clockOffset(serverNow, deviceNow = Date.now()) {
  const server = parseTime(serverNow);
  return server === null ? 0 : server - deviceNow;
}

// 4:05 · 12:40 · 1:02:09
export function duration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = String(Math.floor((total % 3600) / 60)).padStart(hours ? 2 : 1, '0');
  const seconds = String(total % 60).padStart(2, '0');
  return hours ? `${hours}:${minutes}:${seconds}` : `${minutes}:${seconds}`;
}

// Where a session stands at `now` (all in epoch milliseconds): before the start a countdown,
// during it the time since the start and the minutes left, after the end the overtime.
export function roomClock(now, startsAt, endsAt) {
  if (startsAt === null) return { state: '', time: '', note: '' };
  if (now < startsAt) return { state: 'before', time: t('Starts in %(time)s', { time: duration(startsAt - now) }), note: '' };
  const time = duration(now - startsAt);
  if (endsAt === null) return { state: 'during', time, note: '' };
  if (now < endsAt) return { state: 'during', time, note: t('%(minutes)s min left', { minutes: Math.ceil((endsAt - now) / MINUTE) }) };
  const over = Math.floor((now - endsAt) / MINUTE);
  return { state: 'after', time, note: over ? t('overtime, %(minutes)s min', { minutes: over }) : t('overtime') };
}
