// The live room behind the `room` Alpine component: the socket protocol (presence, chat, hands,
// stage, the mentor's controls), local media, and one media transport chosen by the server at
// join: Janus (sfu.js, an SFU) or browser to browser (mesh.js).
//
// RTCPeerConnections and MediaStreams live here and in the transports, outside Alpine's reactive
// proxies (their methods refuse a proxied `this`); only plain values are written to the component.

import { t } from '../i18n.js';
import { socketReady } from '../realtime.js';
import { CaptureError, SpeechMeter, captureDevice, captureLocal, captureScreen, listDevices } from './media.js';
import { MeshTransport } from './mesh.js';

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

export class RoomEngine {
  constructor(ui, refs) {
    this.ui = ui;
    this.refs = refs;
    const config = ui.config;
    this.sessionId = config.sessionId;
    this.selfId = config.userId;
    this.iceServers = Array.isArray(config.iceServers) ? config.iceServers : [];
    this.transport = null;
    this.streams = new Map(); // "<userId>:camera" | "<userId>:screen" -> MediaStream
    this.videos = new Map(); // same keys -> <video>
    this.chatIds = new Set();
    this.localStream = null;
    this.screenStream = null;
    this.captured = false;
    this.publishing = false; // on stage: our camera and microphone go out
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
    this.refreshDevices();
    if (navigator.mediaDevices) navigator.mediaDevices.ondevicechange = () => this.refreshDevices();
    const socket = await socketReady();
    if (this.stopped) return;
    if (!socket) {
      this.setPhase('error', t('Your sign-in has lapsed. Log in again to join the room.'));
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
    if (this.socket) for (const [event, handler] of this.listeners) this.socket.off(event, handler);
    this.listeners = [];
    if (this.transport) this.transport.stop();
    this.stopTracks(this.localStream);
    this.stopTracks(this.screenStream);
    this.screenStream = null;
    this.meter.close();
    if (navigator.mediaDevices) navigator.mediaDevices.ondevicechange = null;
    if (phase) {
      this.ui.participants = [];
      this.ui.sharing = false;
      this.ui.activeSpeaker = null;
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

  emit(event, payload = {}) {
    if (this.socket && !this.stopped) this.socket.emit(event, { session_id: this.sessionId, ...payload });
  }

  listen() {
    this.on('connect', () => {
      if (this.lostConnection) this.rejoin();
    });
    this.on('disconnect', () => {
      if (!this.joined) return;
      this.lostConnection = true;
      this.notice(t('Connection lost. Reconnecting…'), 'warning');
    });
    this.on('room:participant_joined', ({ participant }) => {
      if (!participant || participant.user_id === this.selfId) return;
      this.addParticipant(participant);
      if (this.transport) this.transport.participantJoined(participant);
    });
    this.on('room:participant_left', ({ user_id: userId }) => this.removeParticipant(userId));
    this.on('room:replaced', () =>
      this.stop('replaced', t('You opened this room in another tab or window, so it closed here.')),
    );
    this.on('room:removed', () => this.stop('removed', t('The mentor removed you from this session.')));
    this.on('room:ended', ({ status }) =>
      this.stop(
        'ended',
        status === 'cancelled'
          ? t('This session has ended. It was not held long enough to count, so everyone who paid is refunded in full.')
          : t('This session has ended. Thanks for joining!'),
      ),
    );
    this.on('signal', (message) => {
      if (this.transport) this.transport.onSignal(message);
    });
    this.on('chat:message', (message) => this.addChat(message));
    this.on('gift:received', ({ gift }) => this.ui.addGift(gift));
    this.on('hand:state', ({ user_id: userId, raised, raised_at: raisedAt }) => {
      if (userId === this.selfId) {
        this.ui.handRaised = raised;
        this.ui.handRaisedAt = raised ? raisedAt ?? null : null;
      } else this.update(userId, { hand_raised: raised, hand_raised_at: raised ? raisedAt ?? null : null });
    });
    this.on('hand:answered', () => {
      this.notice(
        this.publishing ? t('The mentor is taking your question. Unmute to speak.') : t('The mentor saw your hand.'),
        'success',
      );
    });
    this.on('stage:state', ({ user_id: userId, on_stage: onStage }) => {
      if (userId === this.selfId) this.setOnStage(onStage, true);
      else {
        this.update(userId, { on_stage: onStage });
        if (this.transport) this.transport.stageChanged(userId);
      }
    });
    this.on('media:state', ({ user_id: userId, audio, video, screen }) => {
      if (userId !== this.selfId) this.update(userId, { audio, video, screen });
    });
    this.on('control:mute', () => {
      this.setMic(false);
      this.notice(t('The mentor muted your microphone. Unmute when you want to speak.'), 'warning');
    });
    this.on('control:video', () => {
      this.setCam(false);
      this.notice(t('The mentor turned your camera off. Turn it on again when you are ready.'), 'warning');
    });
    this.on('error', ({ message }) => {
      if (message) this.notice(message, 'error');
    });
  }

  async request(event, payload = {}) {
    try {
      const reply = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, { session_id: this.sessionId, ...payload });
      return reply || { ok: false, error: { message: t('No answer from the server.') } };
    } catch {
      return { ok: false, error: { message: t('The server did not answer. Check your connection.') } };
    }
  }

  async join() {
    const rejoin = this.joined;
    const reply = await this.request('room:join', rejoin ? { resume: true } : {});
    if (this.stopped) return false;
    if (!reply.ok) {
      this.setPhase('error', (reply.error && reply.error.message) || t('You could not join the room.'));
      return false;
    }
    // Where "time to first picture" starts for anyone measuring the room.
    if (!rejoin && typeof performance.mark === 'function') performance.mark('room:joined');
    if (Array.isArray(reply.ice_servers) && reply.ice_servers.length) this.iceServers = reply.ice_servers;
    const media = reply.media || { mode: 'mesh', stage: false };
    this.ui.self = reply.self;
    this.ui.mode = media.mode;
    this.ui.stage = Boolean(media.stage);
    this.ui.stageCap = media.stage_cap || 0;
    this.ui.handRaised = Boolean(reply.self && reply.self.hand_raised);
    this.ui.handRaisedAt = (reply.self && reply.self.hand_raised_at) || null;
    // Before the camera starts: a learner is asked first when the room records.
    if (this.ui.recordingJoined) this.ui.recordingJoined(reply.recording);
    for (const message of reply.chat || []) this.addChat(message);
    for (const gift of reply.gifts || []) this.ui.addGift(gift, { announce: false });
    const participants = (reply.participants || []).filter((p) => p && p.user_id !== this.selfId);
    for (const participant of participants) this.addParticipant(participant);
    const present = new Set(participants.map((p) => p.user_id));
    for (const entry of [...this.ui.participants]) {
      if (!present.has(entry.user_id)) this.removeParticipant(entry.user_id);
    }
    await this.setOnStage(Boolean(reply.self && reply.self.on_stage), false);
    if (this.stopped) return false;
    if (!this.transport) {
      this.transport = await this.makeTransport(media);
      if (!this.transport) return false;
      await this.startTransport(participants);
    } else if (this.transport instanceof MeshTransport) {
      this.transport.start(participants, { rejoin: true });
    }
    this.joined = true;
    this.lostConnection = false;
    this.setPhase('joined');
    this.sendMediaState();
    return true;
  }

  async makeTransport(media) {
    if (media.mode !== 'janus') return new MeshTransport(this);
    try {
      const { JanusTransport } = await import('./sfu.js');
      return new JanusTransport(this, media);
    } catch (error) {
      this.log('sfu load failed', error);
      this.setPhase('error', t('The room could not load. Reload the page to try again.'));
      return null;
    }
  }

  async startTransport(participants) {
    // Tiles drawn before the transport existed.
    for (const [key, video] of this.videos) {
      const [userId, kind] = key.split(':');
      this.transport.attach(video, Number(userId), kind);
    }
    try {
      await this.transport.start(participants);
    } catch (error) {
      this.log('media start failed', error);
      this.notice(t('Video could not start. Check your connection; the room keeps trying.'), 'error');
      if (this.transport.lost) this.transport.lost('start failed');
    }
  }

  async rejoin() {
    this.notice(t('Reconnected.'), 'success');
    await this.join();
  }

  // ----- the stage -------------------------------------------------------------------------

  // On stage, our camera and microphone go out (captured now if they were not yet); off stage,
  // they stop and so does a screen share.
  async setOnStage(onStage, announce) {
    this.ui.onStage = onStage;
    if (this.ui.self) this.ui.self.on_stage = onStage;
    if (onStage === this.publishing && (this.captured || !onStage)) return;
    this.publishing = onStage;
    if (onStage) {
      if (!this.captured) await this.capture();
      if (announce) this.notice(t('You are on stage: others can see and hear you now.'), 'success');
    } else {
      this.setMic(false);
      this.setCam(false);
      if (this.screenStream) this.stopScreen();
      if (announce) this.notice(t('You are back in the audience.'), 'info');
    }
    if (this.transport) await this.transport.publishingChanged();
    this.sendMediaState();
  }

  async capture() {
    this.captured = true;
    const local = await captureLocal();
    if (this.stopped) {
      this.stopTracks(local.stream);
      return;
    }
    this.useLocalStream(local.stream);
    if (local.problem) this.notice(local.problem, 'warning', true);
    this.refreshDevices();
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
    if (!info || typeof info.user_id !== 'number' || info.user_id === this.selfId) return;
    const fields = {
      name: info.name,
      role: info.role,
      hand_raised: Boolean(info.hand_raised),
      hand_raised_at: info.hand_raised_at ?? null,
      on_stage: info.on_stage !== false,
      audio: Boolean(info.audio),
      video: Boolean(info.video),
      screen: Boolean(info.screen),
      held_audio: Boolean(info.held_audio),
      held_video: Boolean(info.held_video),
    };
    if (this.participant(info.user_id)) this.update(info.user_id, fields);
    else {
      this.ui.participants.push({
        user_id: info.user_id,
        ...fields,
        connection: this.ui.mode === 'janus' ? 'connected' : 'new',
        quality: '',
        speaking: false,
        frames: 0,
        screenFrames: 0,
        hasVideo: false,
        screenLive: false,
      });
    }
  }

  removeParticipant(userId) {
    if (this.transport) this.transport.participantLeft(userId);
    for (const kind of ['camera', 'screen']) {
      this.streams.delete(`${userId}:${kind}`);
      this.videos.delete(`${userId}:${kind}`);
    }
    this.meter.unwatch(userId);
    if (this.ui.activeSpeaker === userId) this.ui.activeSpeaker = null;
    const index = this.ui.participants.findIndex((p) => p.user_id === userId);
    if (index !== -1) this.ui.participants.splice(index, 1);
  }

  // Janus reports who talks; the mesh measures it here (pollSpeech). The active speaker is the
  // last person who started talking, kept until someone else does.
  setSpeaking(userId, speaking) {
    if (userId === this.selfId) return;
    this.update(userId, { speaking });
    if (speaking) this.ui.activeSpeaker = userId;
  }

  setOwnConnection(state) {
    if (state === 'failed') this.notice(t('Your video could not reach the server. Retrying…'), 'warning');
  }

  setReceiveState(state) {
    for (const entry of this.ui.participants) {
      if (entry.connection !== state) entry.connection = state;
    }
  }


  // ----- streams and tiles -----------------------------------------------------------------

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

  setStream(key, stream) {
    this.streams.set(key, stream);
    const video = this.videos.get(key);
    if (video && video.isConnected) this.show(video, stream);
  }

  dropStream(key) {
    this.streams.delete(key);
    const video = this.videos.get(key);
    if (video && video.srcObject) video.srcObject = null;
  }

  // Called from the template when a remote tile's <video> appears.
  attach(video, userId, kind) {
    const key = `${userId}:${kind}`;
    this.videos.set(key, video);
    const stream = this.streams.get(key);
    if (stream) this.show(video, stream);
    if (this.transport) this.transport.attach(video, userId, kind);
  }

  show(video, stream) {
    if (video.srcObject !== stream) video.srcObject = stream;
    this.play(video);
  }

  play(element) {
    element.play().catch((error) => {
      if (error.name !== 'NotAllowedError') return;
      // Autoplay with sound needs a click first: play muted until the person allows sound.
      element.muted = true;
      this.ui.needsSound = true;
      element.play().catch(() => {});
    });
  }

  enableSound() {
    this.ui.needsSound = false;
    this.meter.resume();
    const elements = [...this.videos.entries()].filter(([key]) => key.endsWith(':camera')).map(([, video]) => video);
    if (this.refs.audioSink) elements.push(...this.refs.audioSink.querySelectorAll('audio'));
    for (const element of elements) {
      if (!element.isConnected) continue;
      element.muted = false;
      element.play().catch(() => {});
    }
  }

  // ----- own controls ----------------------------------------------------------------------

  sendMediaState() {
    if (!this.socket || !this.joined || this.stopped) return;
    this.emit('media:state', { audio: this.ui.mic, video: this.ui.cam, screen: this.ui.sharing });
  }

  setMic(on) {
    const track = this.localStream && this.localStream.getAudioTracks()[0];
    if (!track) return;
    if (on && !this.publishing) {
      this.notice(t('Raise your hand: the mentor brings people on stage to speak.'), 'info');
      return;
    }
    track.enabled = on;
    this.ui.mic = on;
    this.sendMediaState();
  }

  setCam(on) {
    const track = this.localStream && this.localStream.getVideoTracks()[0];
    if (!track) return;
    if (on && !this.publishing) {
      this.notice(t('Raise your hand: the mentor brings people on stage to speak.'), 'info');
      return;
    }
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

  // A different microphone or camera: its track replaces the old one without renegotiating.
  async switchDevice(kind, deviceId) {
    const mediaKind = kind === 'audioinput' ? 'audio' : 'video';
    let stream;
    try {
      stream = await captureDevice(mediaKind, deviceId);
    } catch (error) {
      this.notice(error instanceof CaptureError ? error.message : t('That device could not be started.'), 'error');
      return;
    }
    if (this.stopped) {
      this.stopTracks(stream);
      return;
    }
    const track = stream.getTracks()[0];
    const local = this.localStream || new MediaStream();
    const old = mediaKind === 'audio' ? local.getAudioTracks()[0] : local.getVideoTracks()[0];
    track.enabled = old ? old.enabled : this.publishing;
    if (old) {
      local.removeTrack(old);
      old.stop();
    }
    local.addTrack(track);
    this.localStream = local;
    if (this.transport) this.transport.replaceTrack(mediaKind, track);
    this.useLocalStream(local);
    this.sendMediaState();
    this.refreshDevices();
  }

  async toggleScreen() {
    if (this.screenStream) {
      this.stopScreen();
      return;
    }
    if (!this.publishing) {
      this.notice(t('Raise your hand: the mentor brings people on stage to present.'), 'info');
      return;
    }
    let stream;
    try {
      stream = await captureScreen();
    } catch (error) {
      this.notice(error instanceof CaptureError ? error.message : t('Screen sharing failed.'), 'error');
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
    this.ui.sharing = true;
    if (this.refs.screenPreview) {
      this.refs.screenPreview.srcObject = stream;
      this.refs.screenPreview.play().catch(() => {});
    }
    try {
      if (this.transport) await this.transport.startScreen(stream);
    } catch (error) {
      this.log('screen share failed', error);
      this.notice(t('Your screen could not be shared. Try again.'), 'error');
      this.stopScreen();
      return;
    }
    this.sendMediaState();
  }

  stopScreen() {
    const stream = this.screenStream;
    if (!stream) return;
    this.screenStream = null;
    if (this.transport) this.transport.stopScreen();
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
      this.notice((reply.error && reply.error.message) || t('Your message was not sent.'), 'error');
      return false;
    }
    this.addChat(reply.message);
    return true;
  }

  addChat(message) {
    if (!message || this.chatIds.has(message.id)) return;
    this.chatIds.add(message.id);
    const chat = this.ui.chat;
    const sent = new Date(parseTime(message.created_at) || Date.now());
    chat.push({
      id: message.id,
      user_id: message.user_id,
      name: message.name,
      body: message.body,
      created_at: message.created_at,
      // For <time datetime>: HTML takes at most milliseconds, which toISOString gives.
      datetime: sent.toISOString(),
      time: sent.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' }),
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
    if (reply.ok && entry) this.notice(t('Asked %(name)s to mute.', { name: entry.name }), 'success');
  }

  async stopVideo(userId) {
    const reply = await this.request('control:video', { user_id: userId });
    const entry = this.participant(userId);
    if (reply.ok && entry) this.notice(t('Turned off %(name)s’s camera.', { name: entry.name }), 'success');
  }

  async setStage(userId, onStage) {
    const reply = await this.request('stage:set', { user_id: userId, on_stage: onStage });
    if (reply.ok) this.update(userId, { on_stage: onStage });
  }

  async answerHand(userId) {
    await this.request('hand:answer', { user_id: userId });
  }

  async removeFromRoom(userId) {
    const reply = await this.request('control:remove', { user_id: userId });
    if (reply.ok) this.removeParticipant(userId);
  }

  async endForAll() {
    const reply = await this.request('room:end');
    if (reply.ok) {
      this.stop('ended', reply.message || t('You ended this session for everyone.'));
      window.location.assign(this.ui.config.detailUrl);
    } else if (reply.error && reply.error.code) {
      // The server refused (before the start, say): its error event already shows why.
    } else if (this.refs.endForm) {
      // The socket path failed (offline, no answer): the page's own form still works.
      this.refs.endForm.submit();
    }
  }

  // ----- timers ----------------------------------------------------------------------------

  // Speaking from the local meters: our own microphone always, others' only in the mesh
  // (Janus reports who talks).
  pollSpeech() {
    const speaking = this.meter.speaking();
    const selfSpeaking = this.ui.mic && speaking.has('self');
    if (this.ui.speaking !== selfSpeaking) this.ui.speaking = selfSpeaking;
    if (this.ui.mode === 'janus') return;
    for (const entry of this.ui.participants) {
      const now = entry.audio && speaking.has(entry.user_id);
      if (entry.speaking !== now) {
        entry.speaking = now;
        if (now) this.ui.activeSpeaker = entry.user_id;
      }
    }
  }

  pollStats() {
    if (this.transport) this.transport.pollStats();
  }
}
