// Chat times in the viewer's own timezone (their profile's IANA name), not the device's.

import { parseTime } from './clock.js';

const OPTIONS = { hour: 'numeric', minute: '2-digit' };

export function timeFormat(timeZone) {
  try {
    return new Intl.DateTimeFormat(undefined, { ...OPTIONS, timeZone: timeZone || undefined });
  } catch {
    // A name this browser does not know: the device's own zone is the best left.
    return new Intl.DateTimeFormat(undefined, OPTIONS);
  }
}

// A message's time from its `created_at`; older engines sent only a preformatted `time`.
export function messageTime(format, message) {
  const at = parseTime(message.created_at);
  return at === null ? message.time || '' : format.format(at);
}
