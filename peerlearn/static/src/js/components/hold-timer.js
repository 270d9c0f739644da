// `holdTimer`: the minutes and seconds left on a booking's seat hold, on the payment page.
// data-config: when the hold ends, in milliseconds since the epoch.
export default function holdTimer(endsAt) {
  let timer = null;

  return {
    left: null,

    init() {
      this.tick();
      timer = setInterval(() => this.tick(), 1000);
    },

    destroy() {
      clearInterval(timer);
    },

    tick() {
      this.left = Math.max(0, Math.ceil((endsAt - Date.now()) / 1000));
    },

    get text() {
      if (!(this.left > 0)) return 'the hold has expired';
      return `${Math.floor(this.left / 60)}:${String(this.left % 60).padStart(2, '0')} left`;
    },
  };
}
