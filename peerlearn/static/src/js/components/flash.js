// A flashed message. Success and info notes fade away on their own; errors and warnings stay
// until dismissed. Hovering or focusing the message holds it open.
const AUTO_HIDE = new Set(['success', 'info']);
const AUTO_HIDE_MS = 6000;

export default function flash() {
  return {
    shown: true,
    timer: null,
    remaining: AUTO_HIDE_MS,
    startedAt: 0,
    autoHide: false,

    init() {
      this.autoHide = AUTO_HIDE.has(this.$root.dataset.category);
      this.resume();
    },

    destroy() {
      clearTimeout(this.timer);
    },

    pause() {
      if (!this.timer) return;
      clearTimeout(this.timer);
      this.timer = null;
      this.remaining -= Date.now() - this.startedAt;
    },

    resume() {
      if (this.timer || !this.shown || !this.autoHide) return;
      this.startedAt = Date.now();
      this.timer = setTimeout(() => this.dismiss(), Math.max(this.remaining, 1000));
    },

    dismiss() {
      clearTimeout(this.timer);
      this.timer = null;
      this.shown = false;
    },
  };
}
