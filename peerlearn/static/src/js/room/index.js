// The `room` Alpine component: the state the live room page renders, and the page's own
// behaviour (layout, self-view, panels, shortcuts, clock, the mentor's hand queue).
//
// The media engine is a separate chunk, imported when a room page starts, so other pages never
// download it. It writes plain values into the fields marked below and is called through
// `call()`; everything else here is the page's own.

import { t } from '../i18n.js';
import { rupees } from './gifts.js';
import { notesPart } from './notes/panel.js';
import { messageTime, timeFormat } from './ui/chat-time.js';
import { chime } from './ui/chime.js';
import { clockOffset, parseTime, roomClock } from './ui/clock.js';
import { recordingPart } from './ui/recording.js';
import { ESCAPE_HELP, SHORTCUTS, isTyping, shortcutFor } from './ui/keys.js';
import { GRID_PAGE, gridShape, mainTile, paged, roomTiles } from './ui/layout.js';
import { drag, nextCorner, saveCorner, savedCorner, settle } from './ui/self-view.js';

// Phases in which the room is over for this page: nothing runs any more.
const CLOSED = new Set(['ended', 'removed', 'replaced', 'error']);
const NARROW = '(max-width: 639px)';
const LAYOUT_KEY = 'peerlearn.room.layout';
const HAND_TOAST_MS = 8000;
// A filmstrip tile's width plus the gap, and the room its arrows take.
const STRIP_TILE_PX = { wide: 178, narrow: 118 };
const STRIP_ARROWS_PX = 88;

function savedLayout(narrow) {
  try {
    const layout = window.localStorage.getItem(LAYOUT_KEY);
    if (layout === 'grid' || layout === 'speaker') return layout;
  } catch {
    // No storage: the default below.
  }
  return narrow ? 'speaker' : 'grid';
}

function saveLayout(layout) {
  try {
    window.localStorage.setItem(LAYOUT_KEY, layout);
  } catch {
    // The choice lasts as long as the page.
  }
}

export default function room() {
  // Kept in this closure, not on the component, so Alpine never wraps them in reactive proxies.
  let engine = null;
  const call = (method, ...args) => (engine ? engine[method](...args) : undefined);
  let offset = 0;
  let startsAt = null;
  let endsAt = null;
  let chatFormat = null;
  let clockTimer = null;
  let narrowQuery = null;
  let onNarrow = null;
  let stageObserver = null;
  let raisedBefore = new Set();
  let handsPrimed = false;
  let toastId = 0;

  return {
    config: {},
    // The Notes and whiteboard panel, its chunk loaded when it first opens (notes/panel.js).
    ...notesPart(),
    // The recording's indicator, the mentor's control and the consent question (ui/recording.js).
    ...recordingPart(call),

    // ----- written by the engine ----------------------------------------------------------
    phase: 'joining', // joining | joined | ended | removed | replaced | error
    message: '',
    notices: [],
    self: null,
    participants: [],
    chat: [],
    gifts: [],
    unread: 0,
    hasMic: false,
    hasCam: false,
    mic: false,
    cam: false,
    sharing: false,
    handRaised: false,
    handRaisedAt: null,
    speaking: false,
    needsSound: false,
    devices: { audioinput: [], videoinput: [] },
    micId: '',
    camId: '',
    mode: '', // mesh | janus, once joined
    stage: false, // only people on stage send media
    stageCap: 0,
    onStage: true,
    activeSpeaker: null,

    // ----- the page's own -----------------------------------------------------------------
    draft: '',
    sending: false,
    panel: '', // the open side panel (a bottom sheet on a phone): chat | people | gifts | ''
    moreOpen: false,
    layout: 'grid', // the viewer's choice: grid | speaker
    autoSpeaker: false, // a new screen share took the stage
    pinned: null, // a tile key the viewer pinned
    latestScreen: null,
    lastSpeaker: null,
    gridPage: 0,
    stripPage: 0,
    stageWidth: 0,
    narrow: false,
    selfCorner: 'bottom-right',
    clockText: '',
    clockNote: '',
    clockState: '',
    handToasts: [],
    handsSeenAt: {}, // user id (or 'self') -> server seconds this page saw the hand go up
    liveText: '',
    shortcuts: SHORTCUTS,
    escapeHelp: ESCAPE_HELP,

    async init() {
      document.body.dataset.room = 'joining';
      this.config = JSON.parse(document.getElementById('room-config').textContent);
      offset = clockOffset(this.config.serverNow);
      startsAt = parseTime(this.config.startsAt);
      endsAt = parseTime(this.config.endsAt);
      chatFormat = timeFormat(this.config.timezone);
      narrowQuery = window.matchMedia(NARROW);
      this.narrow = narrowQuery.matches;
      onNarrow = (event) => {
        this.narrow = event.matches;
      };
      narrowQuery.addEventListener('change', onNarrow);
      this.layout = savedLayout(this.narrow);
      this.selfCorner = savedCorner();
      this.tickClock();
      clockTimer = setInterval(() => this.tickClock(), 1000);
      this.watchRoom();
      this.watchRecording();
      this.measureStage();

      try {
        const { RoomEngine } = await import('./engine.js');
        engine = new RoomEngine(this, this.$refs);
      } catch {
        this.phase = 'error';
        this.message = t('The room could not load. Reload the page to try again.');
        document.body.dataset.room = 'error';
        return;
      }
      window.addEventListener('pagehide', () => call('stop'));
      await engine.start();
    },

    destroy() {
      this.stopClock();
      if (narrowQuery) narrowQuery.removeEventListener('change', onNarrow);
      if (stageObserver) stageObserver.disconnect();
      call('stop');
    },

    watchRoom() {
      this.$watch('phase', (phase) => {
        if (CLOSED.has(phase)) this.closeRoom();
        // Hands already up when we join are the queue, not news: only later ones get a toast.
        setTimeout(() => {
          handsPrimed = this.phase === 'joined';
        });
      });
      this.$watch(
        () => this.raisedIds,
        (ids) => this.handsChanged(ids),
      );
      this.$watch('handRaised', (raised) => {
        if (raised) this.handsSeenAt.self = this.serverSeconds();
        else delete this.handsSeenAt.self;
      });
      // A screen share that starts takes the stage, unless the viewer pinned something.
      this.$watch(
        () => this.participants.filter((p) => p.screenLive).map((p) => p.user_id).join(','),
        (now, before) => {
          const was = new Set((before || '').split(','));
          const started = now.split(',').filter((id) => id && !was.has(id));
          if (started.length) {
            this.latestScreen = `screen:${started[started.length - 1]}`;
            if (this.view === 'grid') this.autoSpeaker = true;
          }
          if (!now) this.autoSpeaker = false;
        },
      );
      this.$watch(
        () => this.currentSpeaker,
        (id) => {
          if (id !== null) this.lastSpeaker = id;
        },
      );
    },

    // The room ended for this page (ended, removed, replaced, error): no clock, no sheets.
    closeRoom() {
      this.stopClock();
      this.panel = '';
      this.moreOpen = false;
      this.handToasts = [];
      for (const name of ['helpDialog', 'devicesDialog', 'recordingDialog']) {
        const dialog = this.$refs[name];
        if (dialog && dialog.open) dialog.close();
      }
      if (this.message) this.liveText = this.message;
    },

    get live() {
      return this.phase === 'joined' || this.phase === 'joining';
    },

    // ----- clock --------------------------------------------------------------------------

    serverNow() {
      return Date.now() + offset;
    },

    serverSeconds() {
      return this.serverNow() / 1000;
    },

    tickClock() {
      if (CLOSED.has(this.phase)) {
        this.stopClock();
        return;
      }
      const clock = roomClock(this.serverNow(), startsAt, endsAt);
      this.clockText = clock.time;
      this.clockNote = clock.note;
      this.clockState = clock.state;
    },

    stopClock() {
      clearInterval(clockTimer);
      clockTimer = null;
      this.clockText = '';
      this.clockNote = '';
      this.clockState = '';
    },

    // ----- tiles and layout ---------------------------------------------------------------

    get tiles() {
      return roomTiles(this.participants, this.stage);
    },

    get view() {
      if (this.layout === 'speaker' || this.autoSpeaker) return 'speaker';
      return this.pinned && this.tiles.some((tile) => tile.key === this.pinned) ? 'speaker' : 'grid';
    },

    get currentSpeaker() {
      if (this.activeSpeaker !== null && this.activeSpeaker !== undefined) return this.activeSpeaker;
      const talking = this.participants.find((p) => p.speaking);
      return talking ? talking.user_id : null;
    },

    get mainTile() {
      if (this.view !== 'speaker') return null;
      return mainTile(this.tiles, { pinned: this.pinned, screen: this.latestScreen, speaker: this.lastSpeaker });
    },

    get stageTiles() {
      const main = this.mainTile;
      return main ? [main] : [];
    },

    get strip() {
      const main = this.mainTile;
      const rest = main ? this.tiles.filter((tile) => tile.key !== main.key) : [];
      return paged(rest, this.stripPage, this.stripSize);
    },

    get grid() {
      const size = this.narrow ? GRID_PAGE.narrow : GRID_PAGE.wide;
      return paged(this.view === 'grid' ? this.tiles : [], this.gridPage, size);
    },

    // An object, not a string: a string would replace the style attribute and with it x-show's.
    get gridStyle() {
      const { cols, rows } = gridShape(this.grid.items.length, this.narrow);
      return { '--cols': cols, '--rows': rows };
    },

    measureStage() {
      const area = this.$refs.stage;
      if (!area || typeof ResizeObserver !== 'function') return;
      stageObserver = new ResizeObserver(([entry]) => {
        const width = Math.round(entry.contentRect.width);
        if (width !== this.stageWidth) this.stageWidth = width;
      });
      stageObserver.observe(area);
    },

    // How many filmstrip tiles fit the stage's width (fewer once it needs its arrows).
    get stripSize() {
      const tile = this.narrow ? STRIP_TILE_PX.narrow : STRIP_TILE_PX.wide;
      const all = Math.max(1, Math.floor(this.stageWidth / tile));
      if (this.tiles.length - 1 <= all) return all;
      return Math.max(1, Math.floor((this.stageWidth - STRIP_ARROWS_PX) / tile));
    },

    // The mesh plays each person's sound through their camera's <video>: someone whose tile is
    // off screen (another page) still needs one, unseen. Janus sends sound to the audio sink.
    get unseenVoices() {
      if (this.mode !== 'mesh') return [];
      const shown = new Set([...this.grid.items, ...this.stageTiles, ...this.strip.items].map((tile) => tile.key));
      return this.tiles.filter((tile) => tile.kind === 'camera' && !shown.has(tile.key));
    },

    setLayout(layout) {
      this.layout = layout;
      this.autoSpeaker = false;
      if (layout === 'grid') this.pinned = null;
      saveLayout(layout);
      this.announce(layout === 'grid' ? t('Grid layout') : t('Speaker layout'));
    },

    toggleLayout() {
      this.setLayout(this.view === 'speaker' ? 'grid' : 'speaker');
    },

    togglePin(key) {
      this.pinned = this.pinned === key ? null : key;
      this.announce(this.pinned ? t('Pinned to the main view') : t('Unpinned'));
    },

    announce(text) {
      // The same words twice must still be read out: clear first, then set on the next frame.
      this.liveText = '';
      this.$nextTick(() => {
        this.liveText = text;
      });
    },

    // ----- self-view ----------------------------------------------------------------------

    get showSelf() {
      return this.live && (!this.stage || this.onStage);
    },

    startDrag(event) {
      if (event.button !== 0 || event.target.closest('button')) return;
      event.preventDefault();
      drag(event, this.$refs.selfView, this.$refs.stage, (corner, from) => this.placeSelf(corner, from));
    },

    placeSelf(corner, from = null) {
      this.selfCorner = corner;
      saveCorner(corner);
      this.$nextTick(() => settle(this.$refs.selfView, from));
    },

    moveSelf() {
      const corner = nextCorner(this.selfCorner);
      this.placeSelf(corner, this.$refs.selfView.getBoundingClientRect());
      const where = {
        'top-left': t('Your video is in the top left corner'),
        'top-right': t('Your video is in the top right corner'),
        'bottom-right': t('Your video is in the bottom right corner'),
        'bottom-left': t('Your video is in the bottom left corner'),
      };
      this.announce(where[corner]);
    },

    // ----- people and hands ---------------------------------------------------------------

    get peopleCount() {
      return this.participants.length + 1;
    },

    // The mentor first; in a stage room, the people on stage before the audience.
    get peopleRows() {
      const rank = (p) => (p.role === 'mentor' ? 0 : 1) + (this.stage && !p.on_stage ? 2 : 0);
      return [...this.participants].sort((a, b) => rank(a) - rank(b));
    },

    get onStageCount() {
      return this.participants.filter((p) => p.on_stage).length + (this.onStage ? 1 : 0);
    },

    get stageFull() {
      return this.stageCap > 0 && this.onStageCount >= this.stageCap;
    },

    get canPublish() {
      return !this.stage || this.onStage;
    },

    get raisedIds() {
      return this.participants
        .filter((p) => p.hand_raised)
        .map((p) => p.user_id)
        .join(',');
    },

    // Raised hands in the order they went up: the server's time when it sent one, else when
    // this page first saw the hand.
    get handQueue() {
      const seen = (key, at) => (typeof at === 'number' ? at : this.handsSeenAt[key] ?? Number.MAX_VALUE);
      const queue = this.participants
        .filter((p) => p.hand_raised)
        .map((p) => ({ id: p.user_id, name: p.name, p, mine: false, at: seen(p.user_id, p.hand_raised_at) }));
      if (this.handRaised && this.self) {
        queue.push({ id: this.self.user_id, name: this.self.name, p: this.self, mine: true, at: seen('self', this.handRaisedAt) });
      }
      return queue.sort((a, b) => a.at - b.at || a.id - b.id);
    },

    handsChanged(ids) {
      const raised = new Set(ids ? ids.split(',').map(Number) : []);
      for (const key of Object.keys(this.handsSeenAt)) {
        if (key !== 'self' && !raised.has(Number(key))) delete this.handsSeenAt[key];
      }
      this.handToasts = this.handToasts.filter((toast) => raised.has(toast.userId));
      for (const userId of raised) {
        if (raisedBefore.has(userId)) continue;
        this.handsSeenAt[userId] = this.serverSeconds();
        if (handsPrimed && this.config.isMentor && this.phase === 'joined') this.announceHand(userId);
      }
      raisedBefore = raised;
    },

    announceHand(userId) {
      const person = this.participants.find((p) => p.user_id === userId);
      if (!person) return;
      const id = ++toastId;
      this.handToasts.push({ id, userId, name: person.name });
      chime();
      setTimeout(() => this.dropHandToast(id), HAND_TOAST_MS);
    },

    dropHandToast(id) {
      this.handToasts = this.handToasts.filter((toast) => toast.id !== id);
    },

    // A raised hand's toast, clicked: the people panel shows the queue, and the toast goes.
    seeHands(id) {
      this.openPanel('people');
      this.dropHandToast(id);
    },

    answerHand(userId) {
      return call('answerHand', userId);
    },

    setStage(p, on) {
      return call('setStage', p.user_id, on);
    },

    askToMute(p) {
      return call('askToMute', p.user_id);
    },

    stopVideo(p) {
      return call('stopVideo', p.user_id);
    },

    removeFromRoom(p) {
      if (window.confirm(t("Remove %(name)s from this session? They won't be able to come back.", { name: p.name }))) {
        return call('removeFromRoom', p.user_id);
      }
      return undefined;
    },

    endForAll() {
      const held = this.config.heldMinutes;
      const question = held
        ? t(
            'End this session for everyone? It counts as held only if you were here for at least %(minutes)s minutes of its time; otherwise everyone who paid is refunded.',
            { minutes: held },
          )
        : t('End this session for everyone?');
      if (window.confirm(question)) return call('endForAll');
      return undefined;
    },

    initials(name) {
      return (name || '?')
        .split(/\s+/)
        .filter(Boolean)
        .slice(0, 2)
        .map((part) => part[0].toUpperCase())
        .join('');
    },

    connectionLabel(p) {
      if (p.connection === 'connected') {
        const quality = { good: t('Connection good'), fair: t('Connection fair'), poor: t('Connection poor') };
        return quality[p.quality] || t('Connected');
      }
      if (p.connection === 'failed' || p.connection === 'disconnected') return t('Reconnecting…');
      return t('Connecting…');
    },

    attach(video, userId, kind) {
      call('attach', video, userId, kind);
    },

    // ----- own controls -------------------------------------------------------------------

    // Off stage the buttons are disabled; a shortcut says why instead.
    // Turning something on while the room records someone who is not in it: the page says why.
    toggleMic() {
      if (!this.canPublish) this.offStage();
      else if (this.hasMic && (this.mic || !this.recordingHolds())) call('setMic', !this.mic);
    },

    toggleCam() {
      if (!this.canPublish) this.offStage();
      else if (this.hasCam && (this.cam || !this.recordingHolds())) call('setCam', !this.cam);
    },

    toggleScreen() {
      if (!this.canPublish) this.offStage();
      else if (this.sharing || !this.recordingHolds()) call('toggleScreen');
    },

    toggleHand() {
      return call('setHand', !this.handRaised);
    },

    offStage() {
      call('notice', t('Raise your hand to speak: the mentor brings people on stage.'), 'info');
    },

    pickDevice(kind, deviceId) {
      if (deviceId) return call('switchDevice', kind, deviceId);
      return undefined;
    },

    enableSound() {
      call('enableSound');
    },

    dismiss(id) {
      call('dismiss', id);
    },

    // ----- panels, menu, dialogs ----------------------------------------------------------

    openPanel(name) {
      this.panel = name;
      this.moreOpen = false;
      if (name === 'chat') this.unread = 0;
      this.$nextTick(() => {
        // On a phone the keyboard would cover the sheet: focus the heading, not the text box.
        const target = name === 'chat' && !this.narrow ? this.$refs.messageInput : document.getElementById(`room-${name}-title`);
        if (target) target.focus({ preventScroll: true });
      });
    },

    closePanel(returnFocus = false) {
      const was = this.panel;
      this.panel = '';
      if (returnFocus && was && this.$refs[`${was}Button`]) this.$refs[`${was}Button`].focus();
    },

    togglePanel(name) {
      if (this.panel === name) this.closePanel();
      else this.openPanel(name);
    },

    toggleChat() {
      this.togglePanel('chat');
    },

    togglePeople() {
      this.togglePanel('people');
    },

    toggleGifts() {
      this.togglePanel('gifts');
    },

    toggleMore() {
      if (this.moreOpen) {
        this.closeMore();
        return;
      }
      this.moreOpen = true;
      this.$nextTick(() => {
        const first = [...this.$refs.moreMenu.querySelectorAll('button')].find((button) => button.offsetParent);
        if (first) first.focus();
      });
    },

    closeMore(returnFocus = false) {
      if (!this.moreOpen) return;
      this.moreOpen = false;
      if (returnFocus) this.$refs.moreButton.focus();
    },

    // An item of the More menu: the menu closes, then the item's action runs.
    fromMenu(action) {
      this.closeMore();
      return this[action]();
    },

    openDialog(name) {
      this.closeMore();
      const dialog = this.$refs[name];
      if (dialog && !dialog.open) dialog.showModal();
    },

    openHelp() {
      this.openDialog('helpDialog');
    },

    // Shortcuts work anywhere on the page except while typing; Esc closes the menu or panel.
    onKey(event) {
      if (!this.live || event.defaultPrevented) return;
      // An open dialog handles its own keys (Esc closes it).
      if (document.querySelector('dialog[open]')) return;
      if (event.key === 'Escape') {
        if (this.moreOpen) this.closeMore(true);
        else if (this.panel) this.closePanel(true);
        return;
      }
      if (isTyping(event.target)) return;
      const shortcut = shortcutFor(event);
      if (!shortcut) return;
      event.preventDefault();
      this[shortcut.action]();
    },

    // Arrow keys move along the control bar, as in any toolbar.
    toolbarKey(event) {
      const keys = ['ArrowLeft', 'ArrowRight', 'Home', 'End'];
      if (!keys.includes(event.key) || !event.target.matches('[data-toolbar-item]')) return;
      const items = [...event.currentTarget.querySelectorAll('[data-toolbar-item]')].filter(
        (item) => item.offsetParent && !item.disabled,
      );
      const at = items.indexOf(event.target);
      const next = {
        ArrowLeft: items[(at - 1 + items.length) % items.length],
        ArrowRight: items[(at + 1) % items.length],
        Home: items[0],
        End: items[items.length - 1],
      }[event.key];
      event.preventDefault();
      if (next) next.focus();
    },

    // ----- chat and gifts -----------------------------------------------------------------

    chatTime(message) {
      return messageTime(chatFormat, message);
    },

    async sendChat() {
      const body = this.draft.trim();
      if (!body || this.sending || !engine) return;
      this.sending = true;
      try {
        if (await engine.sendChat(body)) this.draft = '';
      } finally {
        this.sending = false;
      }
    },

    get giftTotal() {
      return this.gifts.reduce((sum, gift) => sum + gift.amount_paise, 0);
    },

    rupees,

    // From the join reply, `gift:received` or the sender's own verification: each gift once.
    addGift(gift, { announce = true } = {}) {
      if (!gift || this.gifts.some((known) => known.id === gift.id)) return;
      this.gifts.push(gift);
      if (announce) {
        call('notice', this.giftNotice(gift), 'success');
      }
    },

    // Whole sentences, so each language orders them its own way.
    giftNotice(gift) {
      const values = { name: gift.sender_name, amount: rupees(gift.amount_paise), message: gift.message };
      if (gift.sender_id === this.config.userId) {
        return gift.message ? t('You sent a %(amount)s gift: “%(message)s”', values) : t('You sent a %(amount)s gift.', values);
      }
      return gift.message ? t('%(name)s sent a %(amount)s gift: “%(message)s”', values) : t('%(name)s sent a %(amount)s gift.', values);
    },
  };
}
