// `choice`: which option of a group of radio buttons is picked, so parts of a form can follow it
// (a mentor's fields at sign-up, a UPI or bank account's fields for payouts).
// data-config: {"name": the radio group's name, "value": the option picked when the page loads}.
export default function choice({ name = '', value = '' } = {}) {
  return {
    picked: value,

    // Bound to `change` on an element around the group; other fields' changes bubble past.
    pick(event) {
      if (event.target.name === name) this.picked = event.target.value;
    },
  };
}
