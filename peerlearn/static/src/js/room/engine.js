// The live room behind the `room` Alpine component: the socket protocol, one Peer per remote
// participant (a full mesh), local media, stats and speaking detection.
//
// RTCPeerConnections and MediaStreams live here, outside Alpine's reactive proxies (their
// methods refuse a proxied `this`); only plain values are written to the component.

import { socketReady } from '../realtime.js';
import { CaptureError, SpeechMeter, captureDevice, captureLocal, captureScreen, listDevices } from './media.js';
import { Peer } from './peer.js';

const ACK_TIMEOUT_MS = 10_000;
const NOTICE_MS = 6000;
const CHAT_KEPT = 200;

// Times from the server carry an offset; one without is UTC.
function parseTime(value) {
  if (!value) return null;
  const text = /([zZ]|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value}Z`;
  const time = Date.parse(text);
  return Number.isNaN(time) ? null : time;
}

function clockText(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = String(Math.floor((total % 3600) / 60)).padStart(hours ? 2 : 1, '0');
  const seconds = String(total % 60).padStart(2, '0');
  return hours ? `${hours}:${minutes}:${seconds}` : `${minutes}:${seconds}`;
}

function quality(rtt, loss) {
  if (rtt == null && loss == null) return '';
  if ((rtt ?? 0) > 0.6 || (loss ?? 0) > 0.08) return 'poor';
  if ((rtt ?? 0) > 0.25 || (loss ?? 0) > 0.02) return 'fair';
  return 'good';
}

export class RoomEngine {
  constructor(ui, refs) {
    this.ui = ui;
    this.refs = refs;
    const config = ui.config;
    this.sessionId = config.sessionId;
    this.selfId = config.userId;
    this.iceServers = Array.isArray(config.iceServers) ? config.iceServers : [];
    this.startsAt = parseTime(config.startsAt);
    this.endsAt = parseTime(config.endsAt);
    this.peers = new Map();
    this.streams = new Map(); // "<userId>:camera" | "<userId>:screen" -> MediaStream
    this.videos = new Map(); // same keys -> <video>
    this.chatIds = new Set();
    this.localStream = null;
    this.screenStream = null;
    this.meter = new SpeechMeter();
    this.listeners = [];
    this.timers = [];
    this.socket = null;
    this.joined = false;
    this.lostConnection = false;
    this.stopped = false;
    this.noticeId = 0;
  }

  // ----- lifecycle -------------------------------------------------------------------------

  async start() {
    this.setPhase('joining');
    this.tick();
    this.timers.push(setInterval(() => this.tick(), 1000));
    const [local, socket] = await Promise.all([captureLocal(), socketReady()]);
    if (this.stopped) {
      if (local.stream) local.stream.getTracks().forEach((track) => track.stop());
      return;
    }
    this.useLocalStream(local.stream);
    if (local.problem) this.notice(local.problem, 'warning', true);
    this.refreshDevices();
    if (navigator.mediaDevices) navigator.mediaDevices.ondevicechange = () => this.refreshDevices();
    if (!socket) {
      this.setPhase('error', 'Your sign-in has lapsed. Log in again to join the room.');
      return;
    }
    this.socket = socket;
    this.listen();
    if (await this.join()) {
      this.timers.push(setInterval(() => this.pollStats(), 1000));
      this.timers.push(setInterval(() => this.pollSpeech(), 200));
    }
  }

  // Everything stops: media, connections and listeners. `phase` says why, for the page.
  stop(phase, message) {
    if (this.stopped) return;
    this.stopped = true;
    this.timers.forEach(clearInterval);
    this.timers = [];
    for (const [event, handler] of this.listeners) this.socket.off(event, handler);
    this.listeners = [];
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    this.stopTracks(this.localStream);
    this.stopTracks(this.screenStream);
    this.screenStream = null;
    this.meter.close();
    if (navigator.mediaDevices) navigator.mediaDevices.ondevicechange = null;
    if (phase) {
      this.ui.participants = [];
      this.ui.sharing = false;
      this.setPhase(phase, message);
    }
  }

  stopTracks(stream) {
    if (stream) stream.getTracks().forEach((track) => track.stop());
  }

  setPhase(phase, message = '') {
    this.ui.phase = phase;
    this.ui.message = message;
    // Tests and scripts read this: joining, joined, or error for every way the room can close.
    document.body.dataset.room = phase === 'joining' || phase === 'joined' ? phase : 'error';
  }

  notice(text, tone = 'info', sticky = false) {
    const id = ++this.noticeId;
    this.ui.notices.push({ id, text, tone });
    if (!sticky) setTimeout(() => this.dismiss(id), NOTICE_MS);
  }

  dismiss(id) {
    const index = this.ui.notices.findIndex((notice) => notice.id === id);
    if (index !== -1) this.ui.notices.splice(index, 1);
  }

  log(what, error) {
    // Expected while connections settle (a colliding offer, a stale candidate): not a page error.
    console.debug(`room: ${what}`, error);
  }

  // ----- socket protocol -------------------------------------------------------------------

  on(event, handler) {
    const guarded = (payload = {}) => {
      if (this.stopped) return;
      if (payload && payload.session_id !== undefined && payload.session_id !== this.sessionId) return;
      handler(payload || {});
    };
    this.socket.on(event, guarded);
    this.listeners.push([event, guarded]);
  }

  listen() {
    this.on('connect', () => {
      if (this.lostConnection) this.rejoin();
    });
    this.on('disconnect', () => {
      if (!this.joined) return;
      this.lostConnection = true;
      this.notice('Connection lost. Reconnecting…', 'warning');
    });
    this.on('room:participant_joined', ({ participant }) => {
      const known = participant && this.peers.get(participant.user_id);
      // They are back on a new page or socket while our connection to them never finished:
      // whatever it was negotiating went to a page that is gone, so start clean.
      if (known && known.pc.connectionState !== 'connected') known.reset();
      this.addParticipant(participant);
    });
    this.on('room:participant_left', ({ user_id: userId }) => this.removeParticipant(userId));
    this.on('room:replaced', () =>
      this.stop('replaced', 'You opened this room in another tab or window, so it closed here.'),
    );
    this.on('room:removed', () => this.stop('removed', 'The mentor removed you from this session.'));
    this.on('room:ended', () => this.stop('ended', 'This session has ended. Thanks for joining!'));
    this.on('signal', (message) => this.onSignal(message));
    this.on('chat:message', (message) => this.addChat(message));
    this.on('gift:received', ({ gift }) => this.ui.addGift(gift));
    this.on('hand:state', ({ user_id: userId, raised }) => {
      if (userId === this.selfId) this.ui.handRaised = raised;
      else this.update(userId, { hand_raised: raised });
    });
    this.on('media:state', ({ user_id: userId, audio, video, screen }) => {
      if (userId !== this.selfId) this.update(userId, { audio, video, screen });
    });
    this.on('control:mute', () => {
      this.setMic(false);
      this.notice('The mentor muted your microphone. Unmute when you want to speak.', 'warning');
    });
    this.on('error', ({ message }) => {
      if (message) this.notice(message, 'error');
    });
  }

  async request(event, payload = {}) {
    try {
      const reply = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, { session_id: this.sessionId, ...payload });
      return reply || { ok: false, error: { message: 'No answer from the server.' } };
    } catch {
      return { ok: false, error: { message: 'The server did not answer. Check your connection.' } };
    }
  }

  async join() {
    const reply = await this.request('room:join');
    if (this.stopped) return false;
    if (!reply.ok) {
      this.setPhase('error', (reply.error && reply.error.message) || 'You could not join the room.');
      return false;
    }
    if (Array.isArray(reply.ice_servers) && reply.ice_servers.length) this.iceServers = reply.ice_servers;
    this.ui.self = reply.self;
    this.ui.handRaised = Boolean(reply.self && reply.self.hand_raised);
    for (const message of reply.chat || []) this.addChat(message);
    for (const gift of reply.gifts || []) this.ui.addGift(gift, { announce: false });
    const present = new Set();
    for (const participant of reply.participants || []) {
      present.add(participant.user_id);
      const known = this.peers.get(participant.user_id);
      this.addParticipant(participant);
      // Back after a dropped socket: a working media path gets new ICE credentials and keeps
      // going; one that was not working starts over. On the first join, a known peer was made
      // by their offer overtaking this reply: it is being negotiated, so it is left alone.
      if (!this.joined || !known) continue;
      if (known.pc.connectionState === 'connected') known.restartIce();
      else known.reset();
    }
    for (const userId of [...this.peers.keys()]) {
      if (!present.has(userId)) this.removeParticipant(userId);
    }
    if (!this.joined) {
      // A reload: anyone still connected to our previous page must drop that connection.
      for (const userId of present) this.signal(userId, 'restart', { page: 'new' });
    }
    this.joined = true;
    this.lostConnection = false;
    this.setPhase('joined');
    this.sendMediaState();
    return true;
  }

  async rejoin() {
    this.notice('Reconnected.', 'success');
    await this.join();
  }

  signal(to, kind, data) {
    if (this.socket && !this.stopped) this.socket.emit('signal', { session_id: this.sessionId, to, kind, data });
  }

  onSignal({ from, kind, data }) {
    if (typeof from !== 'number' || from === this.selfId) return;
    let peer = this.peers.get(from);
    if (!peer) {
      // An offer can overtake the participant_joined event on a busy server; anything else
      // from someone unknown is left over from a connection that is gone.
      if (kind !== 'description' || !data || !data.description || data.description.type !== 'offer') return;
      peer = this.addParticipant({ user_id: from, name: 'Joining…', role: 'learner' });
    }
    peer.receive(kind, data);
  }

  // ----- participants ----------------------------------------------------------------------

  participant(userId) {
    return this.ui.participants.find((p) => p.user_id === userId);
  }

  update(userId, changes) {
    const entry = this.participant(userId);
    if (!entry) return;
    for (const [key, value] of Object.entries(changes)) {
      if (entry[key] !== value) entry[key] = value;
    }
  }

  addParticipant(info) {
    if (!info || typeof info.user_id !== 'number' || info.user_id === this.selfId) return null;
    const existing = this.participant(info.user_id);
    const fields = {
      name: info.name,
      role: info.role,
      hand_raised: Boolean(info.hand_raised),
      audio: Boolean(info.audio),
      video: Boolean(info.video),
      screen: Boolean(info.screen),
    };
    if (existing) this.update(info.user_id, fields);
    else {
      this.ui.participants.push({
        user_id: info.user_id,
        ...fields,
        connection: 'new',
        quality: '',
        speaking: false,
        frames: 0,
        screenFrames: 0,
        hasVideo: false,
        screenLive: false,
      });
    }
    let peer = this.peers.get(info.user_id);
    if (!peer) {
      peer = new Peer(this, info.user_id);
      this.peers.set(info.user_id, peer);
    }
    return peer;
  }

  removeParticipant(userId) {
    const peer = this.peers.get(userId);
    if (peer) peer.close();
    this.peers.delete(userId);
    for (const kind of ['camera', 'screen']) {
      this.streams.delete(`${userId}:${kind}`);
      this.videos.delete(`${userId}:${kind}`);
    }
    this.meter.unwatch(userId);
    const index = this.ui.participants.findIndex((p) => p.user_id === userId);
    if (index !== -1) this.ui.participants.splice(index, 1);
  }

  // ----- media into and out of peers -------------------------------------------------------

  useLocalStream(stream) {
    this.localStream = stream;
    const audio = stream ? stream.getAudioTracks()[0] : null;
    const video = stream ? stream.getVideoTracks()[0] : null;
    this.ui.hasMic = Boolean(audio);
    this.ui.hasCam = Boolean(video);
    this.ui.mic = Boolean(audio && audio.enabled);
    this.ui.cam = Boolean(video && video.enabled);
    this.ui.micId = audio ? audio.getSettings().deviceId || '' : '';
    this.ui.camId = video ? video.getSettings().deviceId || '' : '';
    const preview = this.refs.localVideo;
    if (preview) {
      preview.srcObject = stream;
      if (stream) preview.play().catch(() => {});
    }
    this.meter.watch('self', stream);
  }

  addLocalTracks(peer, pc) {
    if (this.localStream) {
      for (const track of this.localStream.getTracks()) {
        peer.senders[track.kind] = pc.addTrack(track, this.localStream);
      }
    }
    if (this.screenStream) {
      peer.senders.screen = pc.addTrack(this.screenStream.getVideoTracks()[0], this.screenStream);
    }
  }

  screenStreamId() {
    return this.screenStream ? this.screenStream.id : null;
  }

  remoteTrack(peer, event) {
    const stream = event.streams[0] || new MediaStream([event.track]);
    const kind = stream.id === peer.remoteScreenId ? 'screen' : 'camera';
    this.setStream(`${peer.userId}:${kind}`, stream);
    if (kind === 'screen') this.update(peer.userId, { screenLive: true });
    else {
      this.update(peer.userId, { hasVideo: stream.getVideoTracks().length > 0 });
      if (event.track.kind === 'audio') this.meter.watch(peer.userId, stream);
    }
  }

  // Called after each remote description: a description without a screen id ends their share.
  remoteScreenChanged(peer) {
    if (peer.remoteScreenId) return;
    const key = `${peer.userId}:screen`;
    if (this.streams.has(key)) this.streams.delete(key);
    this.update(peer.userId, { screenLive: false, screenFrames: 0 });
  }

  peerState(peer, state) {
    this.update(peer.userId, { connection: state });
    if (state !== 'connected') this.update(peer.userId, { quality: '' });
  }

  setStream(key, stream) {
    this.streams.set(key, stream);
    const video = this.videos.get(key);
    if (video && video.isConnected) this.show(video, stream);
  }

  // Called from the template when a remote tile's <video> appears.
  attach(video, userId, kind) {
    const key = `${userId}:${kind}`;
    this.videos.set(key, video);
    const stream = this.streams.get(key);
    if (stream) this.show(video, stream);
  }

  show(video, stream) {
    if (video.srcObject !== stream) video.srcObject = stream;
    video.play().catch((error) => {
      if (error.name !== 'NotAllowedError') return;
      // Autoplay with sound needs a click first: play muted until the person allows sound.
      video.muted = true;
      this.ui.needsSound = true;
      video.play().catch(() => {});
    });
  }

  enableSound() {
    this.ui.needsSound = false;
    this.meter.resume();
    for (const [key, video] of this.videos) {
      if (key.endsWith(':camera') && video.isConnected) {
        video.muted = false;
        video.play().catch(() => {});
      }
    }
  }

  // ----- own controls ----------------------------------------------------------------------

  sendMediaState() {
    if (!this.socket || !this.joined || this.stopped) return;
    this.socket.emit('media:state', {
      session_id: this.sessionId,
      audio: this.ui.mic,
      video: this.ui.cam,
      screen: this.ui.sharing,
    });
  }

  setMic(on) {
    const track = this.localStream && this.localStream.getAudioTracks()[0];
    if (!track) return;
    track.enabled = on;
    this.ui.mic = on;
    this.sendMediaState();
  }

  setCam(on) {
    const track = this.localStream && this.localStream.getVideoTracks()[0];
    if (!track) return;
    track.enabled = on;
    this.ui.cam = on;
    this.sendMediaState();
  }

  async refreshDevices() {
    try {
      this.ui.devices = await listDevices();
    } catch (error) {
      this.log('device list failed', error);
    }
  }

  // A different microphone or camera: its track replaces the old one on every connection,
  // without renegotiating.
  async switchDevice(kind, deviceId) {
    const mediaKind = kind === 'audioinput' ? 'audio' : 'video';
    let stream;
    try {
      stream = await captureDevice(mediaKind, deviceId);
    } catch (error) {
      this.notice(error instanceof CaptureError ? error.message : 'That device could not be started.', 'error');
      return;
    }
    if (this.stopped) {
      this.stopTracks(stream);
      return;
    }
    const track = stream.getTracks()[0];
    const local = this.localStream || new MediaStream();
    const old = mediaKind === 'audio' ? local.getAudioTracks()[0] : local.getVideoTracks()[0];
    track.enabled = old ? old.enabled : true;
    if (old) {
      local.removeTrack(old);
      old.stop();
    }
    local.addTrack(track);
    // A connection still waiting to add its tracks picks the new one up when it does.
    for (const peer of this.peers.values()) {
      if (!peer.tracksAdded) continue;
      const sender = peer.senders[mediaKind];
      if (sender) await sender.replaceTrack(track).catch((error) => this.log('replaceTrack failed', error));
      else peer.senders[mediaKind] = peer.pc.addTrack(track, local);
    }
    this.useLocalStream(local);
    this.sendMediaState();
    this.refreshDevices();
  }

  async toggleScreen() {
    if (this.screenStream) {
      this.stopScreen();
      return;
    }
    let stream;
    try {
      stream = await captureScreen();
    } catch (error) {
      this.notice(error instanceof CaptureError ? error.message : 'Screen sharing failed.', 'error');
      return;
    }
    if (this.stopped) {
      this.stopTracks(stream);
      return;
    }
    const track = stream.getVideoTracks()[0];
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener('ended', () => this.stopScreen());
    this.screenStream = stream;
    // A second video track, so others keep seeing the camera too; each connection renegotiates.
    for (const peer of this.peers.values()) {
      if (peer.tracksAdded) peer.senders.screen = peer.pc.addTrack(track, stream);
    }
    this.ui.sharing = true;
    if (this.refs.screenPreview) {
      this.refs.screenPreview.srcObject = stream;
      this.refs.screenPreview.play().catch(() => {});
    }
    this.sendMediaState();
  }

  stopScreen() {
    const stream = this.screenStream;
    if (!stream) return;
    this.screenStream = null;
    for (const peer of this.peers.values()) {
      if (peer.senders.screen && peer.pc.signalingState !== 'closed') peer.pc.removeTrack(peer.senders.screen);
      peer.senders.screen = null;
    }
    this.stopTracks(stream);
    if (this.refs.screenPreview) this.refs.screenPreview.srcObject = null;
    this.ui.sharing = false;
    this.sendMediaState();
  }

  async setHand(raised) {
    this.ui.handRaised = raised;
    const reply = await this.request('hand:set', { raised });
    if (!reply.ok) this.ui.handRaised = !raised;
  }

  async sendChat(body) {
    const reply = await this.request('chat:send', { body });
    if (!reply.ok) {
      this.notice((reply.error && reply.error.message) || 'Your message was not sent.', 'error');
      return false;
    }
    this.addChat(reply.message);
    return true;
  }

  addChat(message) {
    if (!message || this.chatIds.has(message.id)) return;
    this.chatIds.add(message.id);
    const chat = this.ui.chat;
    chat.push({
      id: message.id,
      user_id: message.user_id,
      name: message.name,
      body: message.body,
      time: new Date(parseTime(message.created_at) || Date.now()).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' }),
    });
    if (chat.length > CHAT_KEPT) chat.splice(0, chat.length - CHAT_KEPT);
    if (message.user_id !== this.selfId && this.ui.panel !== 'chat') this.ui.unread += 1;
    this.ui.$nextTick(() => {
      const log = this.refs.chatLog;
      if (log) log.scrollTop = log.scrollHeight;
    });
  }

  // ----- mentor controls -------------------------------------------------------------------

  async askToMute(userId) {
    const reply = await this.request('control:mute', { user_id: userId });
    const entry = this.participant(userId);
    if (reply.ok && entry) this.notice(`Asked ${entry.name} to mute.`, 'success');
  }

  async removeFromRoom(userId) {
    const reply = await this.request('control:remove', { user_id: userId });
    if (reply.ok) this.removeParticipant(userId);
  }

  async endForAll() {
    const reply = await this.request('room:end');
    if (reply.ok) {
      this.stop('ended', 'You ended this session for everyone.');
      window.location.assign(this.ui.config.detailUrl);
    } else if (this.refs.endForm) {
      // The socket path failed (offline, or a refused event): the page's own form still works.
      this.refs.endForm.submit();
    }
  }

  // ----- timers ----------------------------------------------------------------------------

  tick() {
    const now = Date.now();
    if (this.startsAt && now < this.startsAt) {
      this.ui.clock = clockText(this.startsAt - now);
      this.ui.clockHint = 'until the start';
    } else if (this.startsAt) {
      this.ui.clock = clockText(now - this.startsAt);
      const left = this.endsAt ? Math.ceil((this.endsAt - now) / 60000) : null;
      if (left === null) this.ui.clockHint = '';
      else if (left > 0) this.ui.clockHint = `${left} min left`;
      else this.ui.clockHint = 'overtime';
    }
  }

  pollSpeech() {
    const speaking = this.meter.speaking();
    const selfSpeaking = this.ui.mic && speaking.has('self');
    if (this.ui.speaking !== selfSpeaking) this.ui.speaking = selfSpeaking;
    for (const entry of this.ui.participants) {
      const now = entry.audio && speaking.has(entry.user_id);
      if (entry.speaking !== now) entry.speaking = now;
    }
  }

  async pollStats() {
    for (const peer of this.peers.values()) {
      if (peer.pc.connectionState === 'closed') continue;
      let report;
      try {
        report = await peer.pc.getStats();
      } catch {
        continue;
      }
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
      // Loss over the last second, not since the call began.
      let loss = null;
      if (peer.lastLoss) {
        const newLost = lost - peer.lastLoss.lost;
        const newReceived = received - peer.lastLoss.received;
        if (newLost + newReceived > 0) loss = Math.max(0, newLost) / (newLost + newReceived);
      }
      peer.lastLoss = { lost, received };
      const framesOf = (kind) => {
        const stream = this.streams.get(`${peer.userId}:${kind}`);
        const track = stream && stream.getVideoTracks()[0];
        return track ? frames.get(track.id) || 0 : 0;
      };
      const connected = peer.pc.connectionState === 'connected';
      this.update(peer.userId, {
        frames: framesOf('camera'),
        screenFrames: framesOf('screen'),
        quality: connected ? quality(rtt, loss) : '',
      });
    }
  }
}
