// One Yjs document per session, kept in step with the server over the room's socket
// (sockets/documents.py):
//
// - `doc:sync` on start and after every reconnect: we send our state vector and get back what the
//   server has that we lack, plus its state vector; we then send what it lacks. So edits made
//   while offline reach the server, and the server's reach us, whatever happened meanwhile.
// - local edits are gathered and sent as one `doc:update` at a time (the next waits for the ack),
//   so the server always receives one browser's changes in order.
// - `doc:update` from the others is applied with this object as the origin (never sent back).

import * as Y from 'yjs';
import { t } from '../../i18n.js';

const ACK_TIMEOUT_MS = 10_000;
const FLUSH_MS = 80; // edits made within this long go out together
const RETRY_MS = 500;
const JOIN_RETRIES = 40; // a sync sent before the room's rejoin is refused (not_in_room): retry
const EMPTY_UPDATE = 2; // bytes of an update with nothing in it

function bytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (data && data.buffer instanceof ArrayBuffer) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

export class DocSync {
  constructor(socket, sessionId, doc, { onState } = {}) {
    this.socket = socket;
    this.sessionId = sessionId;
    this.doc = doc;
    this.onState = onState || (() => {});
    this.queue = [];
    this.sending = false;
    this.synced = false;
    this.canEdit = false;
    this.learnersMayEdit = false;
    this.error = '';
    this.timer = null;
    this.stopped = false;
    this.handlers = [];
    this.syncing = null;
    this.onLocal = (update, origin) => {
      if (origin === this) return;
      this.queue.push(update);
      this.schedule();
    };
  }

  start() {
    this.doc.on('update', this.onLocal);
    this.listen('connect', () => this.sync());
    this.listen('disconnect', () => {
      this.synced = false;
      this.report();
    });
    this.listen('doc:update', ({ session_id: sessionId, update }) => {
      const data = bytes(update);
      if (sessionId === this.sessionId && data) Y.applyUpdate(this.doc, data, this);
    });
    this.listen('doc:access', ({ session_id: sessionId, learners_may_edit: allowed }) => {
      if (sessionId !== this.sessionId) return;
      this.learnersMayEdit = Boolean(allowed);
      // Our own right to edit is the server's to say: ask again.
      this.sync();
    });
    return this.sync();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.doc.off('update', this.onLocal);
    for (const [event, handler] of this.handlers) this.socket.off(event, handler);
    this.handlers = [];
  }

  listen(event, handler) {
    this.socket.on(event, handler);
    this.handlers.push([event, handler]);
  }

  get status() {
    if (!this.socket.connected || !this.synced) return 'offline';
    if (this.queue.length || this.sending) return 'saving';
    return 'saved';
  }

  report() {
    if (!this.stopped) this.onState(this);
  }

  async request(event, payload) {
    try {
      const reply = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, { session_id: this.sessionId, ...payload });
      return reply || { ok: false, error: { code: 'no_answer', message: t('No answer from the server.') } };
    } catch {
      return { ok: false, error: { code: 'no_answer', message: t('The server did not answer.') } };
    }
  }

  // Coalesces: a sync asked for while one runs runs once more after it.
  sync() {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = this.runSync().finally(() => {
      this.syncing = null;
      if (this.again && !this.stopped) {
        this.again = false;
        this.sync();
      }
    });
    return this.syncing;
  }

  async runSync() {
    for (let attempt = 0; attempt < JOIN_RETRIES && !this.stopped; attempt += 1) {
      if (!this.socket.connected) return false;
      const reply = await this.request('doc:sync', { state_vector: Y.encodeStateVector(this.doc) });
      if (this.stopped) return false;
      if (reply.ok) {
        const update = bytes(reply.update);
        if (update) Y.applyUpdate(this.doc, update, this);
        this.canEdit = Boolean(reply.can_edit);
        this.learnersMayEdit = Boolean(reply.learners_may_edit);
        this.error = '';
        // Everything the server lacks, edits queued while offline included, in one update.
        const serverState = bytes(reply.state_vector);
        this.queue = [];
        if (this.canEdit && serverState) {
          const missing = Y.encodeStateAsUpdate(this.doc, serverState);
          if (missing.length > EMPTY_UPDATE) this.queue.push(missing);
        }
        this.synced = true;
        this.report();
        this.flush();
        return true;
      }
      const code = reply.error && reply.error.code;
      if (code !== 'not_in_room' && code !== 'no_answer' && code !== 'rate_limited') {
        this.error = (reply.error && reply.error.message) || t('The notes could not load.');
        this.report();
        return false;
      }
      await new Promise((resolve) => {
        setTimeout(resolve, RETRY_MS);
      });
    }
    return false;
  }

  schedule() {
    this.report();
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, FLUSH_MS);
  }

  async flush() {
    if (this.sending || !this.synced || !this.queue.length || !this.socket.connected || this.stopped) return;
    if (!this.canEdit) {
      this.queue = [];
      return;
    }
    const update = this.queue.length === 1 ? this.queue[0] : Y.mergeUpdates(this.queue);
    this.queue = [];
    this.sending = true;
    this.report();
    const reply = await this.request('doc:update', { update });
    this.sending = false;
    if (this.stopped) return;
    if (!reply.ok) {
      const code = reply.error && reply.error.code;
      if (code === 'read_only') {
        this.canEdit = false;
        this.error = reply.error.message;
      } else if (code === 'update_too_large' || code === 'document_too_large' || code === 'invalid_update') {
        this.error = reply.error.message;
      } else {
        // Lost on the way or refused for now: a sync sends whatever the server still lacks.
        this.synced = false;
        setTimeout(() => this.sync(), RETRY_MS);
      }
      this.report();
      return;
    }
    this.error = '';
    this.report();
    if (this.queue.length) this.flush();
  }
}
