// `seatWarning`: on the session form, shows the server-rendered warning about browser-to-browser
// rooms while the seat count asks for more learners than those rooms carry cameras for, following
// the seat field as the mentor types. It never blocks the form.
export default function seatWarning({ maxLearners } = {}) {
  return {
    seats: 0,

    init() {
      const input = this.$root.querySelector('input[name="capacity"]');
      this.seats = input ? Number(input.value) || 0 : 0;
    },

    changed(event) {
      if (event.target.name === 'capacity') this.seats = Number(event.target.value) || 0;
    },

    get overCameras() {
      return this.seats > maxLearners;
    },
  };
}
