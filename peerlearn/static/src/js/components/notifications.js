// Notifications: the bell in the nav (`notificationBell`) and the notification center's list
// (`notificationCenter`). The server renders the first unread count; after that both follow the
// user's socket room: `notification` (one new notification) and `notifications:read`
// ({unread, ids}; ids null when all were marked), which every tab of the user receives.
// `session:ended` ({session_id}) turns a "live now, join" notice of that session into its ended
// version: the server words both, from the session's status.

import { csrfToken, getJSON, sendJSON } from '../http.js';
import { onRealtime, realtimeStatus } from '../realtime.js';
import { pageLanguage, t } from '../i18n.js';
import dropdown from './dropdown.js';

const LIST_URL = '/api/notifications/';
const READ_URL = '/api/notifications/read/';
const CENTER_URL = '/notifications';
const NEWEST = 5;
// Leaving the page waits this long at most for "mark read" to be stored.
const MARK_READ_WAIT_MS = 1500;

// Made when first needed, not when the module loads: a page's first Intl formatter costs tens of
// milliseconds (the browser loads its locale data), and the bell of every signed-in page only
// shows times once opened.
let relative = null;
const STEPS = [
  ['minute', 60],
  ['hour', 60 * 60],
  ['day', 24 * 60 * 60],
];

// The browser's own formats on an English page (as before), Hindi's on a Hindi one (Latin digits).
function locale() {
  return pageLanguage() === 'hi' ? 'hi-IN' : undefined;
}

// "just now", "5 minutes ago", "yesterday"; a date after a week.
export function timeAgo(iso, now = Date.now()) {
  const then = new Date(iso);
  const seconds = Math.round((now - then.getTime()) / 1000);
  if (Number.isNaN(seconds)) return '';
  if (seconds < 45) return t('just now');
  if (seconds >= 7 * 24 * 60 * 60) return then.toLocaleDateString(locale(), { day: 'numeric', month: 'short' });
  let unit = STEPS[0];
  for (const step of STEPS) if (seconds >= step[1]) unit = step;
  relative = relative || new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  return relative.format(-Math.round(seconds / unit[1]), unit[0]);
}

function markRead(ids) {
  return sendJSON(READ_URL, { ids });
}

function isPlainClick(event) {
  return event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
}

// Clicking an unread notification marks it read, then follows its link. A click that opens a new
// tab marks it read in the background instead (keepalive survives the page).
function follow(event, id, href) {
  if (!isPlainClick(event)) {
    fetch(READ_URL, {
      method: 'POST',
      keepalive: true,
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
      body: JSON.stringify({ ids: [id] }),
    }).catch(() => {});
    return;
  }
  event.preventDefault();
  const wait = new Promise((resolve) => setTimeout(resolve, MARK_READ_WAIT_MS));
  Promise.race([markRead([id]).catch(() => null), wait]).then(() => {
    if (href) window.location.assign(href);
  });
}

// Calls `handler` each time the socket connects again after a drop: events sent while it was
// down were missed, so the listener reloads what it shows.
function onReconnect(handler) {
  let wasConnected = realtimeStatus() === 'connected';
  const listener = (event) => {
    if (event.detail.status !== 'connected') return;
    if (wasConnected) handler();
    wasConnected = true;
  };
  document.addEventListener('peerlearn:socket', listener);
  return () => document.removeEventListener('peerlearn:socket', listener);
}

export function notificationBell() {
  const menu = dropdown();
  let unsubscribe = [];

  return {
    ...menu,
    unread: 0,
    items: [],
    loaded: false,
    announcement: '',

    init() {
      this.unread = Number(this.$root.dataset.unread) || 0;
      unsubscribe = [
        onRealtime('notification', (note) => this.received(note)),
        onRealtime('notifications:read', (update) => this.readElsewhere(update)),
        onRealtime('session:ended', (event) => this.sessionEnded(event)),
        onReconnect(() => this.refresh()),
      ];
    },

    destroy() {
      unsubscribe.forEach((stop) => stop());
    },

    get badge() {
      return this.unread > 99 ? '99+' : String(this.unread);
    },

    get label() {
      return this.unread ? t('Notifications, %(num)s unread', { num: this.unread }) : t('Notifications');
    },

    toggle() {
      menu.toggle.call(this);
      if (this.open) this.refresh();
    },

    refresh() {
      return getJSON(`${LIST_URL}?per_page=${NEWEST}`)
        .then(({ data }) => {
          this.items = data.items;
          this.unread = data.unread_count;
          this.loaded = true;
        })
        .catch(() => {});
    },

    received(note) {
      if (!note || this.items.some((item) => item.id === note.id)) return;
      if (!note.read) this.unread += 1;
      this.items = [note, ...this.items].slice(0, NEWEST);
      this.announcement = t('New notification: %(title)s', { title: note.title });
    },

    // A live session the newest notices may invite into has ended: reload them, worded as ended.
    sessionEnded(event) {
      const invites = (note) => !note.ended && note.data && note.data.session_id === event?.session_id;
      if (this.loaded && this.items.some(invites)) this.refresh();
    },

    readElsewhere({ unread, ids }) {
      this.unread = unread;
      this.items = this.items.map((item) => (ids === null || ids.includes(item.id) ? { ...item, read: true } : item));
    },

    markAllRead() {
      return sendJSON(READ_URL, { all: true })
        .then(({ data }) => this.readElsewhere({ unread: data.unread_count, ids: null }))
        .catch(() => {});
    },

    link(note) {
      return note.url || CENTER_URL;
    },

    follow(event, note) {
      if (note.read) return;
      follow(event, note.id, this.link(note));
    },

    timeAgo,
  };
}

// The center's list. Items are rendered by the server; this keeps their read state and the
// unread count in step with other tabs, and offers to show notifications that arrive meanwhile.
export function notificationCenter() {
  let unsubscribe = [];

  return {
    unread: 0,
    read: {},
    allRead: false,
    arrived: 0,
    endedSessions: {},

    init() {
      this.unread = Number(this.$root.dataset.unread) || 0;
      this.$root.querySelectorAll('time[data-relative]').forEach((time) => {
        time.textContent = timeAgo(time.getAttribute('datetime'));
      });
      unsubscribe = [
        onRealtime('notification', () => {
          this.arrived += 1;
          this.unread += 1;
        }),
        onRealtime('notifications:read', ({ unread, ids }) => {
          this.unread = unread;
          if (ids === null) this.allRead = true;
          else ids.forEach((id) => { this.read[id] = true; });
        }),
        onRealtime('session:ended', (event) => {
          if (event && Number.isInteger(event.session_id)) this.endedSessions[event.session_id] = true;
        }),
      ];
    },

    destroy() {
      unsubscribe.forEach((stop) => stop());
    },

    sessionEnded(sessionId) {
      return Boolean(this.endedSessions[sessionId]);
    },

    isRead(id, readWhenRendered) {
      return readWhenRendered || this.allRead || Boolean(this.read[id]);
    },

    open(event, id, readWhenRendered) {
      if (this.isRead(id, readWhenRendered)) return;
      this.read[id] = true;
      follow(event, id, event.currentTarget.getAttribute('href'));
    },
  };
}
