// Show/hide toggle for a password input rendered by the forms macro.
export default function passwordField() {
  return {
    revealed: false,

    toggle() {
      this.revealed = !this.revealed;
      const input = this.$root.querySelector('input');
      input.type = this.revealed ? 'text' : 'password';
      input.focus({ preventScroll: true });
    },
  };
}
