// The page's one Socket.IO connection, opened on signed-in pages only.
// Later features import `getSocket()` or `onRealtime()` instead of opening their own.
import { io } from 'socket.io-client';

const state = { socket: null, status: 'disconnected' };

function setStatus(status) {
  if (state.status === status && document.body.dataset.socket === status) return;
  state.status = status;
  window.peerlearn.status = status;
  document.body.dataset.socket = status;
  document.dispatchEvent(new CustomEvent('peerlearn:socket', { detail: { status } }));
}

function endSession(socket) {
  // This sign-in was ended elsewhere (logout on another tab, suspension, password change).
  socket.disconnect();
  window.location.assign(document.body.dataset.loginUrl || '/auth/login');
}

export function connectRealtime() {
  window.peerlearn = window.peerlearn || { socket: null, status: state.status };
  if (state.socket) return state.socket;
  if (!document.body.dataset.userId) return null;

  const socket = io();
  state.socket = socket;
  window.peerlearn.socket = socket;
  setStatus('connecting');

  socket.on('connect', () => setStatus('connected'));
  socket.on('disconnect', () => setStatus('disconnected'));
  // `active` is false when the server refused the connection; the client then stops retrying.
  socket.on('connect_error', () => setStatus(socket.active ? 'connecting' : 'disconnected'));
  socket.io.on('reconnect_attempt', () => setStatus('connecting'));
  socket.on('session_ended', () => endSession(socket));
  return socket;
}

export function getSocket() {
  return state.socket;
}

export function realtimeStatus() {
  return state.status;
}

// Subscribe to a server event; returns a function that unsubscribes.
export function onRealtime(event, handler) {
  const socket = state.socket;
  if (!socket) return () => {};
  socket.on(event, handler);
  return () => socket.off(event, handler);
}
