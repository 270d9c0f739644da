// The page's one Socket.IO connection, opened on signed-in pages only.
// Later features import `socketReady()` or `onRealtime()` instead of opening their own.
// socket.io-client is a separate chunk, loaded only on signed-in pages, so anonymous visitors
// (the landing page) never download it.

const state = { socket: null, status: 'disconnected', ready: null };

function setStatus(status) {
  if (state.status === status && document.body.dataset.socket === status) return;
  state.status = status;
  window.peerlearn.status = status;
  document.body.dataset.socket = status;
  document.dispatchEvent(new CustomEvent('peerlearn:socket', { detail: { status } }));
}

// Set while this page is submitting a form or leaving: if that request is what ended the
// sign-in (log out, log out everywhere), its own redirect and message must win.
let leaving = false;
document.addEventListener('submit', () => { leaving = true; }, true);
window.addEventListener('beforeunload', () => { leaving = true; });

function endSession() {
  // This sign-in was ended (logout on another tab, suspension, password change). The server
  // closes the socket itself right after this event; closing it here as well would race that
  // close. Pages that are not already leaving go to the login page.
  if (!leaving) window.location.assign(document.body.dataset.loginUrl || '/auth/login');
}

// Nothing on a page needs realtime events before the reader first sees it: the client (a chunk of
// its own) and its handshake requests wait for the page's first frame instead of competing with
// it on a slow phone. A hidden tab paints no frames, so it connects at once.
function afterFirstPaint() {
  return new Promise((resolve) => {
    if (document.visibilityState === 'hidden') {
      resolve();
      return;
    }
    requestAnimationFrame(() => setTimeout(resolve, 0));
    document.addEventListener('visibilitychange', () => resolve(), { once: true });
  });
}

export function connectRealtime() {
  window.peerlearn = window.peerlearn || { socket: null, status: state.status };
  if (state.ready) return state.ready;
  if (!document.body.dataset.userId) {
    state.ready = Promise.resolve(null);
    return state.ready;
  }
  setStatus('connecting');
  state.ready = afterFirstPaint()
    .then(() => import('socket.io-client'))
    .then(({ io }) => openSocket(io));
  return state.ready;
}

// WebSocket from the first request, so a connection is one long-lived request that stays on the
// process it reached: nginx spreads sockets over processes without sticky sessions. HTTP
// long-polling only when the WebSocket cannot open (a proxy that refuses upgrades):
// `tryAllTransports` (socket.io-client 4.8) then tries the next transport in the list instead of
// giving up. Each reconnection starts from the WebSocket again.
const TRANSPORTS = { transports: ['websocket', 'polling'], tryAllTransports: true };

function openSocket(io) {
  const socket = io(TRANSPORTS);
  state.socket = socket;
  window.peerlearn.socket = socket;
  setStatus('connecting');

  socket.on('connect', () => setStatus('connected'));
  socket.on('disconnect', () => setStatus('disconnected'));
  // `active` is false when the server refused the connection; the client then stops retrying.
  socket.on('connect_error', () => setStatus(socket.active ? 'connecting' : 'disconnected'));
  socket.io.on('reconnect_attempt', () => setStatus('connecting'));
  socket.on('session_ended', endSession);
  return socket;
}

export function getSocket() {
  return state.socket;
}

// Resolves to the socket (or null on anonymous pages) once the client has loaded.
export function socketReady() {
  return state.ready || connectRealtime();
}

export function realtimeStatus() {
  return state.status;
}

// Subscribe to a server event; returns a function that unsubscribes.
export function onRealtime(event, handler) {
  let unsubscribed = false;
  let socket = null;
  socketReady().then((s) => {
    socket = s;
    if (socket && !unsubscribed) socket.on(event, handler);
  });
  return () => {
    unsubscribed = true;
    if (socket) socket.off(event, handler);
  };
}
