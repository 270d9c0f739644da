// A small client for Janus's WebSocket API: one Janus session, its plugin handles, requests
// matched to answers by transaction, trickle, and keepalives. Only what the room needs.
//
// Every request carries the core token the app signed for this participant; Janus checks it on
// each one, keepalives included.

const KEEPALIVE_MS = 25_000;
const REQUEST_TIMEOUT_MS = 15_000;

export class JanusError extends Error {
  constructor(code, reason) {
    super(reason || `Janus error ${code}`);
    this.name = 'JanusError';
    this.code = code;
  }
}

function transactionId() {
  return Math.random().toString(36).slice(2, 14);
}

export class JanusSession {
  // `onClose(reason)`: the WebSocket or the Janus session is gone (not called after destroy()).
  constructor(url, token, { onClose } = {}) {
    this.url = url;
    this.token = token;
    this.onClose = onClose || (() => {});
    this.ws = null;
    this.id = null;
    this.pending = new Map(); // transaction -> {resolve, reject, timer, handle}
    this.handles = new Map(); // handle id -> Handle
    this.keepalive = null;
    this.closed = false;
  }

  connect() {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(this.url, 'janus-protocol');
      } catch (error) {
        reject(error);
        return;
      }
      this.ws = ws;
      const failed = () => reject(new JanusError(0, 'The video server could not be reached.'));
      ws.addEventListener('error', failed, { once: true });
      ws.addEventListener('open', async () => {
        ws.removeEventListener('error', failed);
        ws.addEventListener('message', (event) => this.receive(event.data));
        ws.addEventListener('close', () => this.lost('The connection to the video server closed.'));
        try {
          const reply = await this.send({ janus: 'create' });
          this.id = reply.data.id;
          this.keepalive = setInterval(() => {
            this.send({ janus: 'keepalive' }, { ack: true }).catch(() => {});
          }, KEEPALIVE_MS);
          resolve(this);
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  // Sends a request; resolves with Janus's answer ("success", or the plugin's "event" that
  // follows an "ack"), or just the ack when `ack` is set (trickle, keepalive).
  send(message, { ack = false, handle = null } = {}) {
    if (this.closed || !this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new JanusError(0, 'Not connected to the video server.'));
    }
    const transaction = transactionId();
    const body = { ...message, transaction, token: this.token };
    if (this.id && body.janus !== 'create') body.session_id = this.id;
    if (handle) body.handle_id = handle.id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(transaction);
        reject(new JanusError(0, 'The video server did not answer.'));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(transaction, { resolve, reject, timer, ack });
      this.ws.send(JSON.stringify(body));
    });
  }

  settle(transaction, error, value) {
    const waiting = this.pending.get(transaction);
    if (!waiting) return false;
    this.pending.delete(transaction);
    clearTimeout(waiting.timer);
    if (error) waiting.reject(error);
    else waiting.resolve(value);
    return true;
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const { janus: kind, transaction } = message;
    if (kind === 'ack') {
      const waiting = transaction && this.pending.get(transaction);
      if (waiting && waiting.ack) this.settle(transaction, null, message);
      return;
    }
    if (kind === 'error') {
      const error = message.error || {};
      this.settle(transaction, new JanusError(error.code, error.reason));
      return;
    }
    if (kind === 'success') {
      const data = message.plugindata && message.plugindata.data;
      if (data && data.error_code) this.settle(transaction, new JanusError(data.error_code, data.error));
      else this.settle(transaction, null, message);
      return;
    }
    const handle = this.handles.get(message.sender);
    if (kind === 'event') {
      const data = (message.plugindata && message.plugindata.data) || {};
      const jsep = message.jsep || null;
      if (transaction && this.pending.has(transaction)) {
        if (data.error_code) this.settle(transaction, new JanusError(data.error_code, data.error));
        else this.settle(transaction, null, { data, jsep });
        return;
      }
      if (handle) handle.onEvent(data, jsep);
      return;
    }
    if (!handle) return;
    if (kind === 'webrtcup') handle.onWebrtcUp();
    else if (kind === 'hangup') handle.onHangup(message.reason);
    else if (kind === 'detached') handle.onDetached();
    else if (kind === 'slowlink') handle.onSlowLink(message);
    else if (kind === 'media') handle.onMedia(message);
  }

  async attach(plugin) {
    const reply = await this.send({ janus: 'attach', plugin });
    const handle = new Handle(this, reply.data.id);
    this.handles.set(handle.id, handle);
    return handle;
  }

  lost(reason) {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    this.onClose(reason);
  }

  stopTimers() {
    clearInterval(this.keepalive);
    for (const [transaction, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new JanusError(0, 'The connection to the video server closed.'));
      this.pending.delete(transaction);
    }
  }

  // Ends the Janus session (its handles and their media go with it) and closes the socket.
  destroy() {
    if (this.closed) return;
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN && this.id) {
      try {
        ws.send(JSON.stringify({ janus: 'destroy', session_id: this.id, transaction: transactionId(), token: this.token }));
      } catch {
        // Closing anyway.
      }
    }
    this.closed = true;
    this.stopTimers();
    if (ws) ws.close();
  }
}

// One plugin handle. The owner sets the on* callbacks it cares about.
export class Handle {
  constructor(session, id) {
    this.session = session;
    this.id = id;
    this.onEvent = () => {};
    this.onWebrtcUp = () => {};
    this.onHangup = () => {};
    this.onDetached = () => {};
    this.onSlowLink = () => {};
    this.onMedia = () => {};
  }

  // A plugin request; resolves with {data, jsep} of the plugin's answer.
  async message(body, jsep = null) {
    const message = { janus: 'message', body };
    if (jsep) message.jsep = jsep;
    const reply = await this.session.send(message, { handle: this });
    if (reply.plugindata) return { data: reply.plugindata.data || {}, jsep: reply.jsep || null };
    return reply;
  }

  trickle(candidate) {
    const message = { janus: 'trickle', candidate: candidate || { completed: true } };
    return this.session.send(message, { ack: true, handle: this }).catch(() => {});
  }

  async detach() {
    this.session.handles.delete(this.id);
    try {
      await this.session.send({ janus: 'detach' }, { handle: this });
    } catch {
      // The session may be gone already.
    }
  }
}
