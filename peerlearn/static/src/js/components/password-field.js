// Show/hide toggle for a password input rendered by the forms macro.
import { t } from '../i18n.js';

export default function passwordField() {
  return {
    revealed: false,

    get toggleLabel() {
      return this.revealed ? t('Hide password') : t('Show password');
    },

    toggle() {
      this.revealed = !this.revealed;
      const input = this.$root.querySelector('input');
      input.type = this.revealed ? 'text' : 'password';
      input.focus({ preventScroll: true });
    },
  };
}
