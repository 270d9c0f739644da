// Mobile navigation panel. Closes on Escape, on navigation and when the viewport grows past `md`.
import { t } from '../i18n.js';

export default function navMenu() {
  return {
    open: false,

    get menuLabel() {
      return this.open ? t('Close menu') : t('Open menu');
    },

    init() {
      const desktop = window.matchMedia('(min-width: 768px)');
      const onChange = (event) => {
        if (event.matches) this.open = false;
      };
      desktop.addEventListener('change', onChange);
      this.stopWatching = () => desktop.removeEventListener('change', onChange);
    },

    destroy() {
      if (this.stopWatching) this.stopWatching();
    },

    toggle() {
      this.open = !this.open;
    },

    close(returnFocus = false) {
      if (!this.open) return;
      this.open = false;
      if (returnFocus && this.$refs.button) this.$refs.button.focus();
    },
  };
}
