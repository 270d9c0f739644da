// One RTCPeerConnection to one remote participant, negotiated with the "perfect negotiation"
// pattern: either side may offer at any time; when both offer at once, the polite side (the one
// with the higher user id) yields and the impolite side ignores the colliding offer.
//
// A new connection avoids that collision where it can: the impolite side offers first and the
// polite side adds its own tracks while answering (Chromium can lose ICE gathering when an
// initial offer is rolled back). The impolite side also watches the new connection: if it has
// not connected in time (an offer sent to a page that was just reloaded is lost), both sides
// start over.
//
// `room` is the engine: it supplies the local tracks and the signalling channel, and hears about
// remote streams and state changes through the callbacks named below.

const CONNECT_TIMEOUT_MS = 8000;

export class Peer {
  constructor(room, userId) {
    this.room = room;
    this.userId = userId;
    this.polite = room.selfId > userId;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.answerPending = false;
    this.remoteScreenId = null;
    this.remotePcId = null;
    this.senders = { audio: null, video: null, screen: null };
    this.queue = Promise.resolve();
    this.closed = false;
    this.lastLoss = null;
    this.pc = this.create();
  }

  create() {
    // Sent with every description, so the other side can tell a new connection of ours (after a
    // reload) from a renegotiation of the one it already has.
    this.pcId = Math.random().toString(36).slice(2, 12);
    const pc = new RTCPeerConnection({ iceServers: this.room.iceServers });
    this.whenClosed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    pc.onnegotiationneeded = () => this.offer();
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.room.signal(this.userId, 'candidate', candidate.toJSON());
    };
    pc.ontrack = (event) => this.room.remoteTrack(this, event);
    pc.onconnectionstatechange = () => {
      this.room.peerState(this, pc.connectionState);
      if (pc.connectionState === 'failed') pc.restartIce();
    };
    pc.oniceconnectionstatechange = () => {
      if (pc.iceConnectionState === 'failed') pc.restartIce();
    };
    this.tracksAdded = false;
    clearTimeout(this.watchdog);
    if (!this.polite) {
      this.addTracks(pc, true);
      this.watchdog = setTimeout(() => {
        if (pc === this.pc && !this.closed && pc.connectionState !== 'connected') this.startOver(true);
      }, CONNECT_TIMEOUT_MS);
    }
    return pc;
  }

  // `initiate`: make sure there is something to offer even without a camera or microphone.
  addTracks(pc, initiate) {
    this.tracksAdded = true;
    this.room.addLocalTracks(this, pc);
    if (initiate && pc.getTransceivers().length === 0) {
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
    }
  }

  // A fresh connection, for when the other side started over (a reload) or the two sides no
  // longer agree on the session description.
  reset() {
    this.markClosed();
    this.pc.close();
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.answerPending = false;
    this.remoteScreenId = null;
    this.remotePcId = null;
    this.senders = { audio: null, video: null, screen: null };
    this.pc = this.create();
    this.room.peerState(this, 'new');
  }

  async offer() {
    if (this.closed) return;
    const pc = this.pc;
    try {
      this.makingOffer = true;
      await pc.setLocalDescription();
      // An offer from the other side may have been applied meanwhile (a rollback): then the
      // local description is not this offer any more, and the answer is sent by handle().
      if (pc === this.pc && pc.signalingState === 'have-local-offer') this.sendDescription(pc);
    } catch (error) {
      this.room.log('offer failed', error);
    } finally {
      this.makingOffer = false;
    }
  }

  sendDescription(pc) {
    const { type, sdp } = pc.localDescription;
    // The screen stream's id tells the other side which incoming video is a screen.
    this.room.signal(this.userId, 'description', {
      description: { type, sdp },
      pc: this.pcId,
      screen: this.room.screenStreamId(),
    });
  }

  // Signals are handled one at a time, in arrival order.
  receive(kind, data) {
    this.queue = this.queue.then(() => this.handle(kind, data)).catch((error) => {
      this.room.log(`signal ${kind} failed`, error);
      if (kind === 'description') this.startOver(true);
    });
    return this.queue;
  }

  async handle(kind, data) {
    if (this.closed || !data || typeof data !== 'object') return;
    if (kind === 'restart') {
      // "I am a newly loaded page": only a connection made with their previous page is stale.
      if (data.page === 'new' && !this.remotePcId) return;
      this.startOver(false);
      return;
    }
    if (kind === 'candidate') {
      try {
        await this.whileOpen(this.pc.addIceCandidate(data));
      } catch (error) {
        if (!this.ignoreOffer) this.room.log('candidate rejected', error);
      }
      return;
    }
    if (kind !== 'description' || !data.description) return;
    const description = data.description;
    if (description.type === 'offer' && this.remotePcId && data.pc && data.pc !== this.remotePcId) {
      this.reset();
    }
    const pc = this.pc;
    const readyForOffer = !this.makingOffer && (pc.signalingState === 'stable' || this.answerPending);
    // An answer to an offer that was already answered, or rolled back, changes nothing.
    if (description.type === 'answer' && pc.signalingState !== 'have-local-offer') return;
    const collision = description.type === 'offer' && !readyForOffer;
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    this.remoteScreenId = data.screen || null;
    this.remotePcId = data.pc || null;
    this.answerPending = description.type === 'answer';
    await this.whileOpen(pc.setRemoteDescription(description));
    if (pc !== this.pc) return;
    this.answerPending = false;
    this.room.remoteScreenChanged(this);
    if (description.type === 'offer') {
      // Added now, our tracks take the transceivers this offer created and go out in the answer.
      if (!this.tracksAdded) this.addTracks(pc, false);
      await this.whileOpen(pc.setLocalDescription());
      if (pc !== this.pc) return;
      this.sendDescription(pc);
    }
  }

  // An operation on a connection that is closed meanwhile (a reset from the watchdog or a
  // rejoin) never settles, as the WebRTC spec has it: stop waiting when ours closes, or every
  // later signal would wait behind it for good. Call it while `this.pc` is that connection.
  whileOpen(operation) {
    return Promise.race([operation, this.whenClosed]);
  }

  // Both sides build new connections: ours now, theirs when the restart signal arrives.
  startOver(tellThem) {
    if (this.closed) return;
    if (tellThem) this.room.signal(this.userId, 'restart', {});
    this.reset();
  }

  restartIce() {
    if (!this.closed) this.pc.restartIce();
  }

  close() {
    this.closed = true;
    clearTimeout(this.watchdog);
    this.markClosed();
    this.pc.close();
  }
}
