// The booking payment page: opens Razorpay Checkout for the order (or, with the dev gateway, goes to
// the local test checkout), then has the server verify the signed result before showing success.
//
// Config comes once from the server, as JSON in the element's `data-config`: gateway ('razorpay' |
// 'dev'), keyId, orderId, amount (paise), currency, name, description, prefill {name, email},
// verifyUrl, devCheckoutUrl.
// Markup binds `busy`, `status` ('idle' | 'open' | 'verifying' | 'redirecting'), `error`, `label`
// (what the button says while busy; idle, it keeps the server's "Pay ₹…"), and calls `pay()`.
import { sendJSON } from './http.js';
import { t } from './i18n.js';
import { openRazorpay } from './razorpay.js';

export default function checkout(options = {}) {
  return {
    config: options,
    status: 'idle',
    error: '',

    get busy() {
      return this.status !== 'idle';
    },

    get label() {
      if (this.status === 'verifying') return t('Confirming your payment…');
      if (this.status === 'redirecting') return t('Payment confirmed');
      if (this.status === 'open') return t('Waiting for payment…');
      return '';
    },

    reset() {
      this.status = 'idle';
    },

    async pay() {
      if (this.busy) return;
      this.error = '';
      const config = this.config;

      if (config.gateway === 'dev') {
        this.status = 'redirecting';
        window.location.assign(config.devCheckoutUrl);
        return;
      }

      this.status = 'open';
      // Checkout stays open after a failed attempt so the learner can try another method;
      // the reason is shown here too in case they close it.
      const opened = await openRazorpay(config, {
        onPaid: (response) => this.verify(response),
        onDismiss: () => this.reset(),
        onFailed: (message) => {
          this.error = message;
        },
      });
      if (!opened) {
        this.reset();
        this.error = t('The payment window could not load. Check your connection and reload the page.');
      }
    },

    async verify(response) {
      this.status = 'verifying';
      this.error = '';
      try {
        const payload = await sendJSON(this.config.verifyUrl, {
          razorpay_order_id: response.razorpay_order_id,
          razorpay_payment_id: response.razorpay_payment_id,
          razorpay_signature: response.razorpay_signature,
        });
        const redirectUrl = payload && payload.data && payload.data.redirect_url;
        this.status = 'redirecting';
        if (redirectUrl) {
          window.location.assign(redirectUrl);
        } else {
          window.location.reload();
        }
      } catch (err) {
        this.reset();
        this.error = err.message || t('We could not confirm the payment. Please try again.');
      }
    },
  };
}
