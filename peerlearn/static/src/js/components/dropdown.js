// A small disclosure menu (the signed-in user's menu): click outside or Escape closes it.
export default function dropdown() {
  return {
    open: false,

    toggle() {
      if (this.open) {
        this.close();
        return;
      }
      this.open = true;
      this.$nextTick(() => {
        const first = this.$refs.panel && this.$refs.panel.querySelector('a, button');
        if (first) first.focus();
      });
    },

    close(returnFocus = false) {
      if (!this.open) return;
      this.open = false;
      if (returnFocus && this.$refs.button) this.$refs.button.focus();
    },

    onFocusOut(event) {
      if (!this.$el.contains(event.relatedTarget)) this.close();
    },
  };
}
