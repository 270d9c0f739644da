// The `room` Alpine component: the state the room page renders. The WebRTC engine is a separate
// chunk, imported when a room page starts, so other pages never download it.

import { rupees } from './gifts.js';

export default function room() {
  // Kept in this closure, not on the component, so Alpine never wraps it in a reactive proxy.
  let engine = null;
  const call = (method, ...args) => (engine ? engine[method](...args) : undefined);

  return {
    config: {},
    phase: 'joining',
    message: '',
    notices: [],
    self: null,
    participants: [],
    chat: [],
    gifts: [],
    draft: '',
    sending: false,
    panel: 'chat',
    unread: 0,
    hasMic: false,
    hasCam: false,
    mic: false,
    cam: false,
    sharing: false,
    handRaised: false,
    speaking: false,
    needsSound: false,
    devices: { audioinput: [], videoinput: [] },
    micId: '',
    camId: '',
    showSettings: false,
    clock: '',
    clockHint: '',

    async init() {
      document.body.dataset.room = 'joining';
      this.config = JSON.parse(document.getElementById('room-config').textContent);
      try {
        const { RoomEngine } = await import('./engine.js');
        engine = new RoomEngine(this, this.$refs);
      } catch {
        this.phase = 'error';
        this.message = 'The room could not load. Reload the page to try again.';
        document.body.dataset.room = 'error';
        return;
      }
      window.addEventListener('pagehide', () => call('stop'));
      await engine.start();
    },

    destroy() {
      call('stop');
    },

    get live() {
      return this.phase === 'joined' || this.phase === 'joining';
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
        const who = gift.sender_id === this.config.userId ? 'You' : gift.sender_name;
        call('notice', `${who} sent a ${rupees(gift.amount_paise)} gift${gift.message ? `: “${gift.message}”` : '.'}`, 'success');
      }
    },

    get peopleCount() {
      return this.participants.length + 1;
    },

    get raisedHands() {
      return this.participants.filter((p) => p.hand_raised).length + (this.handRaised ? 1 : 0);
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
      if (p.connection === 'connected') return p.quality ? `Connection ${p.quality}` : 'Connected';
      if (p.connection === 'failed' || p.connection === 'disconnected') return 'Reconnecting…';
      return 'Connecting…';
    },

    attach(video, userId, kind) {
      call('attach', video, userId, kind);
    },

    showPanel(name) {
      this.panel = name;
      if (name === 'chat') this.unread = 0;
    },

    toggleMic() {
      call('setMic', !this.mic);
    },

    toggleCam() {
      call('setCam', !this.cam);
    },

    toggleScreen() {
      return call('toggleScreen');
    },

    toggleHand() {
      return call('setHand', !this.handRaised);
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

    askToMute(p) {
      return call('askToMute', p.user_id);
    },

    removeFromRoom(p) {
      if (window.confirm(`Remove ${p.name} from this session? They won't be able to come back.`)) {
        return call('removeFromRoom', p.user_id);
      }
      return undefined;
    },

    endForAll() {
      if (window.confirm('End this session for everyone?')) return call('endForAll');
      return undefined;
    },
  };
}
