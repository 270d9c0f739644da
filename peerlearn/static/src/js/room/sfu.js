// Media through a Janus VideoRoom room (an SFU): every participant sends one stream up, with
// simulcast layers, and receives only what is on their screen.
//
// - A publisher handle joins the room for everyone (it gives the private id subscriptions
//   need, and the room's events: who publishes, who talks). People on stage also publish their
//   camera and microphone on it: audio first (mid "0"), video second (mid "1"), as the server's
//   moderation expects.
// - A screen share is a second publisher (its own feed), video only.
// - One subscriber handle carries everything received: every on-stage microphone, and video
//   only for tiles that are on screen, at the simulcast layer their size needs (and lower when
//   the connection loses packets). Janus reuses its m-lines, so a track is matched to its
//   person again after every renegotiation.
//
// Feed ids come from user ids (server: services/media.py): user * 10 + 1 camera, + 2 screen.

import { t } from '../i18n.js';
import { JanusSession } from './janus-session.js';
import { quality, readStats } from './mesh.js';

const PLUGIN = 'janus.plugin.videoroom';
// The camera at its own size up to 600 kbit/s, and a half-size layer for thumbnails and poor
// connections: about 1.2 x one stream in all, whoever watches (bench/room_media.py).
const SIMULCAST = [
  { rid: 'h', active: true, maxBitrate: 600_000 },
  { rid: 'l', active: true, maxBitrate: 90_000, scaleResolutionDownBy: 2 },
];
// Janus numbers a publisher's layers from the lowest (0).
const TOP_LAYER = SIMULCAST.length - 1;
const SCREEN_MAX_BITRATE = 1_200_000;
// What Janus tells a camera publisher it may send in all (REMB): both layers and the sound.
const CAMERA_BITRATE = 800_000;
const SYNC_MS = 1000;
// A tile at least this tall (CSS pixels) gets the top layer.
const HIGH_LAYER_MIN_HEIGHT = 200;
// Loss above this over a second sends small tiles to the low layer, and all of them above twice it.
const LOSSY = 0.04;

function kindOfFeed(feed, base) {
  const code = feed % base;
  return code === 1 ? 'camera' : code === 2 ? 'screen' : null;
}

export class JanusTransport {
  constructor(room, media) {
    this.room = room;
    this.media = media;
    this.base = media.feed_base || 10;
    this.session = null;
    this.publisher = null; // handle
    this.publisherPc = null;
    this.privateId = null;
    this.screen = null; // {handle, pc}
    this.subscriber = null; // handle
    this.subscriberPc = null;
    this.subscribed = new Map(); // "feed:mid" -> {mid (ours), feed, feedMid, type}
    this.publishers = new Map(); // feed -> [{type, mid, disabled}]
    this.layers = new Map(); // our mid -> substream asked for
    this.audio = new Map(); // feed -> <audio>
    this.visible = new Set(); // <video> elements on screen
    this.observer = typeof IntersectionObserver === 'function'
      ? new IntersectionObserver((entries) => this.onIntersect(entries))
      : null;
    this.queue = Promise.resolve();
    this.timers = [];
    this.stopped = false;
    this.lossy = 0;
    this.lastLoss = null;
  }

  // Whose feed this is, and which: {userId, kind} with kind 'camera', 'screen' or null.
  owner(feed) {
    return { userId: Math.floor(feed / this.base), kind: kindOfFeed(feed, this.base) };
  }

  // ----- lifecycle -------------------------------------------------------------------------

  async start() {
    await this.connect(this.media.room_token);
    this.timers.push(setInterval(() => this.sync(), SYNC_MS));
  }

  async connect(roomToken) {
    const session = new JanusSession(this.media.server, this.media.core_token, {
      onClose: (reason) => this.lost(reason),
    });
    await session.connect();
    if (this.stopped) {
      session.destroy();
      return;
    }
    this.session = session;
    const handle = await session.attach(PLUGIN);
    handle.onEvent = (data) => this.onRoomEvent(data);
    const { data } = await handle.message({
      request: 'join',
      ptype: 'publisher',
      room: this.media.room,
      id: this.media.feeds.camera,
      display: String(this.room.selfId),
      token: roomToken,
    });
    this.publisher = handle;
    this.privateId = data.private_id;
    this.onPublishers(data.publishers || []);
    if (this.room.publishing) await this.publishCamera();
    this.sync();
  }

  // The Janus session is gone (server restart, network): start again with a fresh token.
  async lost(reason) {
    if (this.stopped || this.reconnecting) return;
    this.room.log('janus session lost', reason);
    this.reconnecting = true;
    this.teardown();
    this.room.notice(t('Reconnecting to the video server…'), 'warning');
    for (let attempt = 0; !this.stopped; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** attempt, 8000)));
      if (this.stopped) break;
      const reply = await this.room.request('media:token', { replace: true });
      if (!reply.ok) {
        if (reply.error && ['removed', 'session_ended', 'session_cancelled'].includes(reply.error.code)) break;
        continue;
      }
      try {
        if (reply.media) Object.assign(this.media, reply.media);
        await this.connect(reply.room_token);
        this.room.notice(t('Video is back.'), 'success');
        if (this.room.screenStream) await this.publishScreen(this.room.screenStream).catch(() => {});
        break;
      } catch (error) {
        this.room.log('janus reconnect failed', error);
        this.teardown();
      }
    }
    this.reconnecting = false;
  }

  teardown() {
    for (const pc of [this.publisherPc, this.subscriberPc, this.screen && this.screen.pc]) {
      if (pc) pc.close();
    }
    this.publisherPc = null;
    this.subscriberPc = null;
    this.subscriber = null;
    this.publisher = null;
    this.screen = null;
    this.subscribed.clear();
    this.layers.clear();
    this.publishers.clear();
    for (const element of this.audio.values()) element.remove();
    this.audio.clear();
    if (this.session) this.session.destroy();
    this.session = null;
    this.queue = Promise.resolve();
  }

  stop() {
    this.stopped = true;
    this.timers.forEach(clearInterval);
    if (this.observer) this.observer.disconnect();
    this.teardown();
  }

  // ----- the room's events (on the publisher handle) ---------------------------------------

  onRoomEvent(data) {
    const kind = data.videoroom;
    if (kind === 'talking' || kind === 'stopped-talking') {
      const { userId, kind: feedKind } = this.owner(data.id);
      if (feedKind === 'camera') this.room.setSpeaking(userId, kind === 'talking');
      return;
    }
    if (kind === 'destroyed') {
      // The session ended (the socket says so too): nothing to reconnect to.
      this.teardownQuietly();
      return;
    }
    if (Array.isArray(data.publishers)) this.onPublishers(data.publishers);
    if (data.unpublished !== undefined && data.unpublished !== 'ok') this.onGone(data.unpublished);
    if (data.leaving !== undefined) {
      if (data.leaving === 'ok') {
        // We were kicked (removed, or replaced by a newer page): the socket says which.
        if (data.reason === 'kicked') this.teardownQuietly();
      } else this.onGone(data.leaving);
    }
  }

  teardownQuietly() {
    this.stopped = true;
    this.teardown();
  }

  onPublishers(list) {
    for (const publisher of list) {
      if (!publisher || typeof publisher.id !== 'number') continue;
      const { userId, kind } = this.owner(publisher.id);
      if (userId === this.room.selfId) continue;
      const streams = (publisher.streams || []).filter((s) => !s.disabled);
      this.publishers.set(publisher.id, streams);
      if (kind === 'screen') this.room.update(userId, { screenLive: true });
      else this.room.update(userId, { hasVideo: streams.some((s) => s.type === 'video') });
    }
    this.sync();
  }

  onGone(feed) {
    this.publishers.delete(feed);
    const { userId, kind } = this.owner(feed);
    if (kind === 'screen') {
      this.room.dropStream(`${userId}:screen`);
      this.room.update(userId, { screenLive: false, screenFrames: 0 });
    } else {
      this.room.dropStream(`${userId}:camera`);
      this.room.update(userId, { hasVideo: false, frames: 0, speaking: false });
    }
    this.sync();
  }

  // ----- publishing ------------------------------------------------------------------------

  newPc() {
    return new RTCPeerConnection({ iceServers: this.room.iceServers, bundlePolicy: 'max-bundle' });
  }

  trickleFrom(pc, handle) {
    pc.onicecandidate = ({ candidate }) => handle.trickle(candidate ? candidate.toJSON() : null);
  }

  async publishCamera() {
    if (!this.publisher || this.publisherPc) return;
    const handle = this.publisher;
    const local = this.room.localStream;
    const audio = local && local.getAudioTracks()[0];
    const video = local && local.getVideoTracks()[0];
    const pc = this.newPc();
    this.publisherPc = pc;
    this.trickleFrom(pc, handle);
    pc.onconnectionstatechange = () => this.room.setOwnConnection(pc.connectionState);
    const streams = local ? [local] : [];
    pc.addTransceiver(audio || 'audio', { direction: 'sendonly', streams });
    pc.addTransceiver(video || 'video', { direction: 'sendonly', streams, sendEncodings: SIMULCAST });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const { jsep } = await handle.message(
      { request: 'publish', bitrate: CAMERA_BITRATE, descriptions: [{ mid: '1', description: 'camera' }] },
      { type: offer.type, sdp: offer.sdp },
    );
    if (pc !== this.publisherPc) return;
    if (jsep) await pc.setRemoteDescription(jsep);
  }

  async unpublishCamera() {
    const pc = this.publisherPc;
    this.publisherPc = null;
    if (pc) pc.close();
    if (this.publisher) await this.publisher.message({ request: 'unpublish' }).catch(() => {});
  }

  publishingChanged() {
    this.queue = this.queue.then(() => (this.room.publishing ? this.publishCamera() : this.unpublishCamera()))
      .catch((error) => this.room.log('publishing change failed', error));
    return this.queue;
  }

  replaceTrack(kind, track) {
    const pc = this.publisherPc;
    if (!pc) return;
    const transceiver = pc.getTransceivers()[kind === 'audio' ? 0 : 1];
    if (transceiver) transceiver.sender.replaceTrack(track).catch((error) => this.room.log('replaceTrack failed', error));
  }

  async startScreen(stream) {
    await this.publishScreen(stream);
  }

  async publishScreen(stream) {
    const reply = await this.room.request('media:token');
    if (!reply.ok) throw new Error((reply.error && reply.error.message) || 'Screen sharing is not available.');
    const handle = await this.session.attach(PLUGIN);
    await handle.message({
      request: 'join',
      ptype: 'publisher',
      room: this.media.room,
      id: this.media.feeds.screen,
      display: String(this.room.selfId),
      token: reply.room_token,
    });
    const pc = this.newPc();
    this.screen = { handle, pc };
    this.trickleFrom(pc, handle);
    const track = stream.getVideoTracks()[0];
    if ('contentHint' in track) track.contentHint = 'detail';
    pc.addTransceiver(track, {
      direction: 'sendonly',
      streams: [stream],
      sendEncodings: [{ maxBitrate: SCREEN_MAX_BITRATE }],
    });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const { jsep } = await handle.message(
      { request: 'publish', descriptions: [{ mid: '0', description: 'screen' }] },
      { type: offer.type, sdp: offer.sdp },
    );
    if (jsep) await pc.setRemoteDescription(jsep);
  }

  stopScreen() {
    const screen = this.screen;
    this.screen = null;
    if (!screen) return;
    screen.pc.close();
    screen.handle.message({ request: 'leave' }).catch(() => {}).finally(() => screen.handle.detach());
  }

  // ----- what to receive -------------------------------------------------------------------

  attach(video) {
    if (this.observer) this.observer.observe(video);
    this.sync();
  }

  onIntersect(entries) {
    for (const entry of entries) {
      if (entry.isIntersecting) this.visible.add(entry.target);
      else this.visible.delete(entry.target);
    }
    this.sync();
  }

  isShown(video) {
    if (!video || !video.isConnected) return false;
    if (this.observer && !this.visible.has(video)) return false;
    return video.offsetWidth > 0 && video.offsetHeight > 0;
  }

  // What should arrive now: every microphone on stage; video for tiles on screen. Someone the
  // room does not have on stage is not received at all, whatever they send.
  wanted() {
    const wanted = new Map(); // "feed:mid" -> {feed, mid, type, height}
    for (const [feed, streams] of this.publishers) {
      const { userId, kind } = this.owner(feed);
      const person = this.room.participant(userId);
      if (!person || person.on_stage === false) continue;
      const video = this.room.videos.get(`${userId}:${kind}`);
      for (const stream of streams) {
        if (stream.type === 'audio') wanted.set(`${feed}:${stream.mid}`, { feed, mid: stream.mid, type: 'audio' });
        else if (stream.type === 'video' && this.isShown(video)) {
          wanted.set(`${feed}:${stream.mid}`, { feed, mid: stream.mid, type: 'video', height: video.offsetHeight });
        }
      }
    }
    return wanted;
  }

  sync() {
    if (this.stopped || !this.publisher || this.syncing) return this.queue;
    this.syncing = true;
    this.queue = this.queue
      .then(() => this.syncNow())
      .catch((error) => this.room.log('subscription update failed', error))
      .finally(() => {
        this.syncing = false;
      });
    return this.queue;
  }

  async syncNow() {
    if (this.stopped || !this.publisher) return;
    const wanted = this.wanted();
    const add = [...wanted.entries()].filter(([key]) => !this.subscribed.has(key)).map(([, item]) => item);
    const drop = [...this.subscribed.entries()].filter(([key]) => !wanted.has(key)).map(([, item]) => item);
    if (!this.subscriber && add.length) await this.subscribe(add);
    else if (this.subscriber && (add.length || drop.length)) {
      // Janus refuses an empty list, so each goes only when it has something.
      const update = { request: 'update' };
      if (add.length) update.subscribe = add.map(({ feed, mid }) => ({ feed, mid }));
      if (drop.length) update.unsubscribe = drop.map(({ feed, feedMid }) => ({ feed, mid: feedMid }));
      const { data, jsep } = await this.subscriber.message(update);
      await this.answer(data, jsep);
    }
    await this.chooseLayers(wanted);
  }

  async subscribe(streams) {
    const reply = await this.room.request('media:token');
    if (!reply.ok) throw new Error('no room token');
    const handle = await this.session.attach(PLUGIN);
    handle.onEvent = (data, jsep) => {
      if (jsep) this.queue = this.queue.then(() => this.answer(data, jsep)).catch((e) => this.room.log('offer failed', e));
    };
    const pc = this.newPc();
    pc.ontrack = () => this.assignTracks();
    pc.onconnectionstatechange = () => {
      if (pc === this.subscriberPc) this.room.setReceiveState(pc.connectionState);
    };
    this.trickleFrom(pc, handle);
    this.subscriber = handle;
    this.subscriberPc = pc;
    const { data, jsep } = await handle.message({
      request: 'join',
      ptype: 'subscriber',
      room: this.media.room,
      private_id: this.privateId,
      token: reply.room_token,
      streams: streams.map(({ feed, mid }) => ({ feed, mid })),
    });
    await this.answer(data, jsep);
  }

  // Janus offers (first subscription, and after every update): answer, then map the tracks.
  async answer(data, jsep) {
    if (Array.isArray(data.streams)) this.describe(data.streams);
    if (!jsep || !this.subscriberPc) {
      this.assignTracks();
      return;
    }
    const pc = this.subscriberPc;
    await pc.setRemoteDescription(jsep);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await this.subscriber.message({ request: 'start' }, { type: answer.type, sdp: answer.sdp });
    this.assignTracks();
  }

  // The subscription as Janus describes it: which of our mids carries which feed's stream.
  describe(streams) {
    this.subscribed.clear();
    this.streamsByMid = new Map();
    for (const stream of streams) {
      if (!stream.active || stream.feed_id === undefined || stream.type === 'data') continue;
      const item = { mid: stream.mid, feed: stream.feed_id, feedMid: stream.feed_mid, type: stream.type };
      this.subscribed.set(`${stream.feed_id}:${stream.feed_mid}`, item);
      this.streamsByMid.set(stream.mid, item);
    }
    for (const mid of [...this.layers.keys()]) {
      if (!this.streamsByMid.has(mid)) this.layers.delete(mid);
    }
  }

  assignTracks() {
    const pc = this.subscriberPc;
    if (!pc || !this.streamsByMid) return;
    const seen = new Set();
    for (const transceiver of pc.getTransceivers()) {
      const item = transceiver.mid !== null && this.streamsByMid.get(transceiver.mid);
      const track = transceiver.receiver && transceiver.receiver.track;
      if (!item || !track) continue;
      const { userId, kind } = this.owner(item.feed);
      if (item.type === 'audio') {
        seen.add(`audio:${item.feed}`);
        this.playAudio(item.feed, track);
      } else if (item.type === 'video' && kind) {
        seen.add(`${userId}:${kind}`);
        const key = `${userId}:${kind}`;
        const current = this.room.streams.get(key);
        if (!current || current.getVideoTracks()[0] !== track) this.room.setStream(key, new MediaStream([track]));
      }
    }
    for (const [feed, element] of this.audio) {
      if (!seen.has(`audio:${feed}`)) {
        element.remove();
        this.audio.delete(feed);
      }
    }
    for (const key of [...this.room.streams.keys()]) {
      if (!key.startsWith(`${this.room.selfId}:`) && !seen.has(key)) this.room.dropStream(key);
    }
  }

  playAudio(feed, track) {
    let element = this.audio.get(feed);
    if (!element) {
      element = document.createElement('audio');
      element.autoplay = true;
      element.dataset.feed = String(feed);
      (this.room.refs.audioSink || document.body).appendChild(element);
      this.audio.set(feed, element);
    }
    if (!element.srcObject || element.srcObject.getAudioTracks()[0] !== track) {
      element.srcObject = new MediaStream([track]);
      this.room.play(element);
    }
  }

  // Big tiles get the top layer, small ones the low layer, everyone the low layer while
  // packets are being lost.
  async chooseLayers(wanted) {
    if (!this.subscriber || !this.streamsByMid) return;
    const changes = [];
    for (const item of this.streamsByMid.values()) {
      // Screens are sent in one layer; cameras in two.
      if (item.type !== 'video' || this.owner(item.feed).kind !== 'camera') continue;
      const want = wanted.get(`${item.feed}:${item.feedMid}`);
      if (!want) continue;
      const big = want.height >= HIGH_LAYER_MIN_HEIGHT;
      let substream = big ? TOP_LAYER : 0;
      if (this.lossy >= 2 || (this.lossy >= 1 && !big)) substream = 0;
      if (this.layers.get(item.mid) !== substream) changes.push({ mid: item.mid, substream });
    }
    if (!changes.length) return;
    await this.subscriber.message({ request: 'configure', streams: changes });
    for (const { mid, substream } of changes) this.layers.set(mid, substream);
  }

  // ----- stats -----------------------------------------------------------------------------

  async pollStats() {
    const pc = this.subscriberPc;
    if (!pc || pc.connectionState === 'closed') return;
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return;
    }
    const stats = readStats(report, this.lastLoss);
    this.lastLoss = stats.counters;
    if (stats.loss !== null) {
      const level = stats.loss > 2 * LOSSY ? 2 : stats.loss > LOSSY ? 1 : 0;
      // Down at once, back up only after a clean stretch.
      this.lossy = level >= this.lossy ? level : Math.max(level, this.lossy - 0.2);
    }
    const connected = pc.connectionState === 'connected';
    const label = connected ? quality(stats.rtt, stats.loss) : '';
    for (const entry of this.room.ui.participants) {
      const frames = (kind) => {
        const stream = this.room.streams.get(`${entry.user_id}:${kind}`);
        const track = stream && stream.getVideoTracks()[0];
        return track ? stats.frames.get(track.id) || 0 : 0;
      };
      this.room.update(entry.user_id, { frames: frames('camera'), screenFrames: frames('screen'), quality: label });
    }
  }

  // Mesh-only protocol pieces, not used here.
  participantJoined() {
    this.sync();
  }

  participantLeft() {
    this.sync();
  }

  stageChanged() {
    this.sync();
  }

  onSignal() {}
}
