// `pushToggle`: the "Phone notifications" switch on the notification settings page
// (templates/notifications/_push.html). Turning it on asks the browser's permission, subscribes
// this browser to Web Push with the site's VAPID public key and saves the subscription
// (POST /api/push/subscriptions); turning it off unsubscribes and deletes it. The element's
// data-config names the API's URLs. The texts shown for each state are in the template.
import { getJSON, sendJSON } from '../http.js';
import { registerServiceWorker } from './register.js';

// The VAPID key as the bytes PushManager.subscribe() wants (it is base64url on the wire).
function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
}

function supported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

export default function pushToggle(config) {
  return {
    // unsupported | unavailable (push not set up on the server) | denied | off | on | error
    state: 'off',
    busy: true,
    publicKey: null,

    get on() {
      return this.state === 'on';
    },

    get disabled() {
      return this.busy || ['unsupported', 'unavailable', 'denied'].includes(this.state);
    },

    async init() {
      try {
        if (!supported()) {
          this.state = 'unsupported';
          return;
        }
        const answer = await getJSON(config.publicKeyUrl);
        this.publicKey = answer.data.public_key;
        if (!this.publicKey) {
          this.state = 'unavailable';
          return;
        }
        if (Notification.permission === 'denied') {
          this.state = 'denied';
          return;
        }
        const registration = await this.registration();
        const subscription = registration && (await registration.pushManager.getSubscription());
        this.state = subscription ? 'on' : 'off';
      } catch (error) {
        console.error('Phone notifications: could not read their state.', error);
        this.state = 'error';
      } finally {
        this.busy = false;
      }
    },

    async registration() {
      await registerServiceWorker();
      return navigator.serviceWorker.ready;
    },

    async toggle() {
      if (this.disabled) return;
      this.busy = true;
      try {
        this.state = this.on ? await this.turnOff() : await this.turnOn();
      } catch (error) {
        console.error('Phone notifications: the change did not go through.', error);
        this.state = Notification.permission === 'denied' ? 'denied' : 'error';
      } finally {
        this.busy = false;
      }
    },

    async turnOn() {
      const permission = await Notification.requestPermission();
      if (permission !== 'granted') return permission === 'denied' ? 'denied' : 'off';
      const registration = await this.registration();
      let subscription = await registration.pushManager.getSubscription();
      if (!subscription) {
        subscription = await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(this.publicKey),
        });
      }
      const { endpoint, keys } = subscription.toJSON();
      await sendJSON(config.subscriptionsUrl, { endpoint, keys });
      return 'on';
    },

    async turnOff() {
      const registration = await this.registration();
      const subscription = await registration.pushManager.getSubscription();
      if (subscription) {
        await sendJSON(config.subscriptionsUrl, { endpoint: subscription.endpoint }, { method: 'DELETE' });
        await subscription.unsubscribe();
      }
      return 'off';
    },
  };
}
