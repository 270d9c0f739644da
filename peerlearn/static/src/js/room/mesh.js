// Browser-to-browser media: one Peer (RTCPeerConnection) per remote participant, signalled over
// the room's socket. Every camera goes to everyone, so a mesh room carries few cameras: the
// server runs bigger ones as a stage, and only people on stage send media.
//
// `room` is the RoomEngine: local media, the socket, the component's state and the <video>
// elements all live there; this class owns only the peer connections.

import { t } from '../i18n.js';
import { Peer } from './peer.js';

// The same cap as a Janus room's top layer, so one camera costs the same either way.
const CAMERA_MAX_BITRATE = 600_000;

export class MeshTransport {
  constructor(room) {
    this.room = room;
    this.selfId = room.selfId;
    this.peers = new Map();
    this.stopped = false;
  }

  get iceServers() {
    return this.room.iceServers;
  }

  // ----- lifecycle -------------------------------------------------------------------------

  start(participants, { rejoin = false } = {}) {
    const present = new Set();
    for (const participant of participants) {
      present.add(participant.user_id);
      const known = this.peers.get(participant.user_id);
      this.ensurePeer(participant.user_id);
      // Back after a dropped socket: a working media path gets new ICE credentials and keeps
      // going; one that was not working starts over. On the first join, a known peer was made
      // by their offer overtaking the join reply: it is being negotiated, so it is left alone.
      if (!rejoin || !known) continue;
      if (known.pc.connectionState === 'connected') known.restartIce();
      else known.reset();
    }
    for (const userId of [...this.peers.keys()]) {
      if (!present.has(userId)) this.participantLeft(userId);
    }
    if (!rejoin) {
      // A reload: anyone still connected to our previous page must drop that connection.
      for (const userId of present) this.signal(userId, 'restart', { page: 'new' });
    }
  }

  stop() {
    this.stopped = true;
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
  }

  ensurePeer(userId) {
    let peer = this.peers.get(userId);
    if (!peer) {
      peer = new Peer(this, userId);
      this.peers.set(userId, peer);
    }
    return peer;
  }

  participantJoined(participant) {
    const known = this.peers.get(participant.user_id);
    // They are back on a new page or socket while our connection to them never finished:
    // whatever it was negotiating went to a page that is gone, so start clean.
    if (known && known.pc.connectionState !== 'connected') known.reset();
    this.ensurePeer(participant.user_id);
  }

  // Someone else went on stage or back: their own page adds or removes their tracks.
  stageChanged() {}

  participantLeft(userId) {
    const peer = this.peers.get(userId);
    if (peer) peer.close();
    this.peers.delete(userId);
  }

  // ----- signalling ------------------------------------------------------------------------

  signal(to, kind, data) {
    if (!this.stopped) this.room.emit('signal', { to, kind, data });
  }

  onSignal({ from, kind, data }) {
    if (typeof from !== 'number' || from === this.selfId) return;
    let peer = this.peers.get(from);
    if (!peer) {
      // An offer can overtake the participant_joined event on a busy server; anything else
      // from someone unknown is left over from a connection that is gone.
      if (kind !== 'description' || !data || !data.description || data.description.type !== 'offer') return;
      this.room.addParticipant({ user_id: from, name: t('Joining…'), role: 'learner' });
      peer = this.ensurePeer(from);
    }
    peer.receive(kind, data);
  }

  // ----- what Peer asks of us ----------------------------------------------------------------

  log(what, error) {
    this.room.log(what, error);
  }

  addLocalTracks(peer, pc) {
    const local = this.room.publishing ? this.room.localStream : null;
    if (local) {
      for (const track of local.getTracks()) {
        const sender = pc.addTrack(track, local);
        peer.senders[track.kind] = sender;
        if (track.kind === 'video') capBitrate(sender, CAMERA_MAX_BITRATE);
      }
    }
    const screen = this.room.screenStream;
    if (screen) peer.senders.screen = pc.addTrack(screen.getVideoTracks()[0], screen);
  }

  screenStreamId() {
    return this.room.screenStream ? this.room.screenStream.id : null;
  }

  remoteTrack(peer, event) {
    const stream = event.streams[0] || new MediaStream([event.track]);
    const kind = stream.id === peer.remoteScreenId ? 'screen' : 'camera';
    this.room.setStream(`${peer.userId}:${kind}`, stream);
    if (kind === 'screen') this.room.update(peer.userId, { screenLive: true });
    else {
      this.room.update(peer.userId, { hasVideo: stream.getVideoTracks().length > 0 });
      if (event.track.kind === 'audio') this.room.meter.watch(peer.userId, stream);
    }
  }

  // Called after each remote description: a description without a screen id ends their share.
  remoteScreenChanged(peer) {
    if (peer.remoteScreenId) return;
    this.room.dropStream(`${peer.userId}:screen`);
    this.room.update(peer.userId, { screenLive: false, screenFrames: 0 });
  }

  peerState(peer, state) {
    this.room.update(peer.userId, { connection: state });
    if (state !== 'connected') this.room.update(peer.userId, { quality: '' });
  }

  // ----- local media changes -----------------------------------------------------------------

  // A new microphone or camera track (a device switch): it replaces the old one on every
  // connection without renegotiating; a connection still waiting to add its tracks picks it up.
  replaceTrack(kind, track) {
    const local = this.room.localStream;
    for (const peer of this.peers.values()) {
      if (!peer.tracksAdded) continue;
      const sender = peer.senders[kind];
      if (sender) sender.replaceTrack(track).catch((error) => this.log('replaceTrack failed', error));
      else if (this.room.publishing && local) peer.senders[kind] = peer.pc.addTrack(track, local);
    }
  }

  // On stage (or back): our camera and microphone go to everyone, or stop going.
  publishingChanged() {
    const local = this.room.localStream;
    for (const peer of this.peers.values()) {
      if (!peer.tracksAdded || peer.pc.signalingState === 'closed') continue;
      for (const kind of ['audio', 'video']) {
        const sender = peer.senders[kind];
        const track = local && (kind === 'audio' ? local.getAudioTracks()[0] : local.getVideoTracks()[0]);
        if (this.room.publishing && track && !sender) {
          peer.senders[kind] = peer.pc.addTrack(track, local);
          if (kind === 'video') capBitrate(peer.senders[kind], CAMERA_MAX_BITRATE);
        } else if (!this.room.publishing && sender) {
          peer.pc.removeTrack(sender);
          peer.senders[kind] = null;
        }
      }
    }
  }

  // A second video track, so others keep seeing the camera too; each connection renegotiates.
  startScreen(stream) {
    const track = stream.getVideoTracks()[0];
    for (const peer of this.peers.values()) {
      if (peer.tracksAdded) peer.senders.screen = peer.pc.addTrack(track, stream);
    }
    return Promise.resolve();
  }

  stopScreen() {
    for (const peer of this.peers.values()) {
      if (peer.senders.screen && peer.pc.signalingState !== 'closed') peer.pc.removeTrack(peer.senders.screen);
      peer.senders.screen = null;
    }
  }

  // Mesh tiles get every stream anyway; a tile only needs the stream it shows.
  attach() {}

  // ----- stats -----------------------------------------------------------------------------

  async pollStats() {
    for (const peer of this.peers.values()) {
      if (peer.pc.connectionState === 'closed') continue;
      let report;
      try {
        report = await peer.pc.getStats();
      } catch {
        continue;
      }
      const stats = readStats(report, peer.lastLoss);
      peer.lastLoss = stats.counters;
      const framesOf = (kind) => {
        const stream = this.room.streams.get(`${peer.userId}:${kind}`);
        const track = stream && stream.getVideoTracks()[0];
        return track ? stats.frames.get(track.id) || 0 : 0;
      };
      const connected = peer.pc.connectionState === 'connected';
      this.room.update(peer.userId, {
        frames: framesOf('camera'),
        screenFrames: framesOf('screen'),
        quality: connected ? quality(stats.rtt, stats.loss) : '',
      });
    }
  }
}

export function capBitrate(sender, maxBitrate) {
  try {
    const parameters = sender.getParameters();
    if (!parameters.encodings || !parameters.encodings.length) parameters.encodings = [{}];
    parameters.encodings[0].maxBitrate = maxBitrate;
    sender.setParameters(parameters).catch(() => {});
  } catch {
    // Not negotiated yet: the browser's default stands.
  }
}

// Frames decoded per track, round-trip time and the loss over the last interval.
export function readStats(report, previous) {
  const frames = new Map();
  let rtt = null;
  let lost = 0;
  let received = 0;
  report.forEach((stat) => {
    if (stat.type === 'inbound-rtp') {
      lost += stat.packetsLost || 0;
      received += stat.packetsReceived || 0;
      if (stat.kind === 'video') frames.set(stat.trackIdentifier, stat.framesDecoded || 0);
    } else if (stat.type === 'candidate-pair' && stat.nominated && stat.state === 'succeeded') {
      if (typeof stat.currentRoundTripTime === 'number') rtt = stat.currentRoundTripTime;
    }
  });
  let loss = null;
  if (previous) {
    const newLost = lost - previous.lost;
    const newReceived = received - previous.received;
    if (newLost + newReceived > 0) loss = Math.max(0, newLost) / (newLost + newReceived);
  }
  return { frames, rtt, loss, counters: { lost, received } };
}

export function quality(rtt, loss) {
  if (rtt == null && loss == null) return '';
  if ((rtt ?? 0) > 0.6 || (loss ?? 0) > 0.08) return 'poor';
  if ((rtt ?? 0) > 0.25 || (loss ?? 0) > 0.02) return 'fair';
  return 'good';
}
