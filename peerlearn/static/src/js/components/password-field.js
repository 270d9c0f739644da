// Show/hide toggle for a password input rendered by the forms macro.
export default function passwordField() {
  return {
    visible: false,

    toggle() {
      this.visible = !this.visible;
      const input = this.$root.querySelector('input');
      input.type = this.visible ? 'text' : 'password';
      input.focus({ preventScroll: true });
    },
  };
}
