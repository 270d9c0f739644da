// Gifts in the live room.
//
// `giftForm` is the learner's form, nested inside the `room` component (it reads `config.gifts`
// and the room's `gifts` list from there). It pays through the same checkout as bookings:
// Razorpay Checkout when the server has keys, otherwise the dev gateway's page in a window of its
// own, so the learner never leaves the call. Either way the signed result is verified by
// POST /api/gift/verify/; the gift then reaches everyone through the room's `gift:received`.

import { sendJSON } from '../http.js';
import { t } from '../i18n.js';
import { openRazorpay } from '../razorpay.js';

export const GIFT_PAID_MESSAGE = 'peerlearn:gift-paid';
const POPUP_FEATURES = 'popup,width=480,height=720';

export function rupees(paise) {
  const amount = paise / 100;
  return `₹${amount.toLocaleString('en-IN', { maximumFractionDigits: Number.isInteger(amount) ? 0 : 2 })}`;
}

export default function giftForm() {
  let popup = null;
  let onMessage = null;

  return {
    preset: null,
    custom: '',
    note: '',
    status: 'idle', // idle | paying | verifying
    error: '',
    sent: '',

    init() {
      const presets = this.config.gifts.presets;
      this.preset = presets.length ? presets[Math.min(1, presets.length - 1)] : null;
      // The dev checkout window hands back the signed result; only our own origin is trusted.
      onMessage = (event) => {
        if (event.origin !== window.location.origin || !event.data || event.data.type !== GIFT_PAID_MESSAGE) return;
        this.verify(event.data.result);
      };
      window.addEventListener('message', onMessage);
    },

    destroy() {
      window.removeEventListener('message', onMessage);
    },

    rupees,

    choose(amount) {
      this.preset = amount;
      this.custom = '';
      this.error = '';
    },

    get amountPaise() {
      if (this.custom !== '' && this.custom !== null) {
        const value = Number(this.custom);
        return Number.isFinite(value) ? Math.round(value * 100) : NaN;
      }
      return this.preset;
    },

    get amountError() {
      const { min, max } = this.config.gifts;
      const paise = this.amountPaise;
      if (paise === null || paise === undefined) return t('Choose an amount.');
      if (!Number.isInteger(paise) || paise < min || paise > max) {
        return t('A gift is between %(min)s and %(max)s.', { min: rupees(min), max: rupees(max) });
      }
      return '';
    },

    get buttonLabel() {
      if (this.status === 'paying') return t('Waiting for payment…');
      if (this.status === 'verifying') return t('Confirming…');
      return this.amountError ? t('Send a gift') : t('Send %(amount)s', { amount: rupees(this.amountPaise) });
    },

    async send() {
      if (this.status !== 'idle') return;
      this.error = this.amountError;
      this.sent = '';
      if (this.error) return;
      const gifts = this.config.gifts;
      // A window opened later than the click would be blocked, so open it now and fill it in
      // once the order exists.
      if (gifts.gateway === 'dev') {
        popup = window.open('', 'peerlearn-checkout', POPUP_FEATURES);
        if (!popup) {
          this.error = t('Allow pop-ups for this site to pay for a gift.');
          return;
        }
      }
      this.status = 'paying';
      let checkout;
      try {
        const reply = await sendJSON(gifts.createUrl, {
          session_id: this.config.sessionId,
          amount_paise: this.amountPaise,
          message: this.note.trim(),
        });
        checkout = reply.data.checkout;
      } catch (err) {
        this.closePopup();
        this.status = 'idle';
        this.error = err.message || t('The gift could not be started. Try again.');
        return;
      }
      if (checkout.gateway === 'dev') {
        popup.location.href = checkout.checkout_url;
        // Closed without paying: the form is free again.
        const watch = setInterval(() => {
          if (popup && !popup.closed) return;
          clearInterval(watch);
          if (this.status === 'paying') this.status = 'idle';
        }, 500);
        return;
      }
      this.openRazorpay(checkout);
    },

    async openRazorpay(checkout) {
      const order = {
        keyId: checkout.key_id,
        orderId: checkout.order_id,
        amount: checkout.amount,
        currency: checkout.currency,
        name: checkout.name,
        description: checkout.description,
        prefill: checkout.prefill,
      };
      const opened = await openRazorpay(order, {
        onPaid: (response) => this.verify(response),
        onDismiss: () => {
          if (this.status === 'paying') this.status = 'idle';
        },
        onFailed: (message) => {
          this.error = message;
        },
      });
      if (!opened) {
        this.status = 'idle';
        this.error = t('The payment window could not load. Check your connection and try again.');
      }
    },

    async verify(result) {
      this.closePopup();
      if (!result) {
        this.status = 'idle';
        this.error = t('The payment did not go through. Nothing was charged; you can try again.');
        return;
      }
      this.status = 'verifying';
      try {
        const reply = await sendJSON(this.config.gifts.verifyUrl, result);
        const gift = reply.data.gift;
        if (gift.status === 'paid') {
          this.addGift(gift);
          this.sent = t('Thank you! Your %(amount)s gift was sent.', { amount: rupees(gift.amount_paise) });
          this.note = '';
          this.custom = '';
        } else {
          this.error = t('The payment is not confirmed yet. It will show here once it is.');
        }
      } catch (err) {
        this.error = err.message || t('We could not confirm the payment. Please try again.');
      } finally {
        this.status = 'idle';
      }
    },

    closePopup() {
      if (popup && !popup.closed) popup.close();
      popup = null;
    },
  };
}

// The dev checkout's last page, in the window `giftForm` opened: hands the signed result to the
// room and closes. Opened any other way, it stays, with its link back to the room.
export function giftReturn() {
  return {
    init() {
      const raw = this.$root.dataset.result;
      if (!raw || !window.opener || window.opener.closed) return;
      window.opener.postMessage({ type: GIFT_PAID_MESSAGE, result: JSON.parse(raw) }, window.location.origin);
      window.close();
    },
  };
}
