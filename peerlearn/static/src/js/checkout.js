// The booking payment page: opens Razorpay Checkout for the order (or, with the dev gateway, goes to
// the local test checkout), then has the server verify the signed result before showing success.
//
// Config comes once from the server, as JSON in the element's `data-config`: gateway ('razorpay' |
// 'dev'), keyId, orderId, amount (paise), currency, name, description, prefill {name, email},
// verifyUrl, devCheckoutUrl.
// Markup binds `busy`, `status` ('idle' | 'open' | 'verifying' | 'redirecting'), `error`, `label`,
// and calls `pay()`.
import { sendJSON } from './http.js';

const BRAND_COLOR = '#5b3fd8';
const SCRIPT_WAIT_MS = 10000;

// The checkout script is a plain <script src> added by the template; it may still be loading.
function razorpayReady() {
  if (typeof window.Razorpay === 'function') return Promise.resolve(true);
  if (document.readyState === 'complete') return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(typeof window.Razorpay === 'function'), SCRIPT_WAIT_MS);
    window.addEventListener(
      'load',
      () => {
        clearTimeout(timer);
        resolve(typeof window.Razorpay === 'function');
      },
      { once: true },
    );
  });
}

export default function checkout(options = {}) {
  return {
    config: options,
    status: 'idle',
    error: '',

    get busy() {
      return this.status !== 'idle';
    },

    get label() {
      if (this.status === 'verifying') return 'Confirming your payment…';
      if (this.status === 'redirecting') return 'Payment confirmed';
      if (this.status === 'open') return 'Waiting for payment…';
      return 'Pay now';
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
      if (!(await razorpayReady())) {
        this.reset();
        this.error = 'The payment window could not load. Check your connection and reload the page.';
        return;
      }

      const razorpay = new window.Razorpay({
        key: config.keyId,
        order_id: config.orderId,
        amount: config.amount,
        currency: config.currency,
        name: config.name,
        description: config.description,
        prefill: config.prefill || {},
        theme: { color: BRAND_COLOR },
        handler: (response) => this.verify(response),
        modal: { ondismiss: () => this.reset() },
      });
      // Checkout stays open after a failed attempt so the learner can try another method;
      // the reason is shown here too in case they close it.
      razorpay.on('payment.failed', (response) => {
        const reason = response && response.error && response.error.description;
        this.error = reason ? `Payment failed: ${reason}` : 'The payment failed. You can try again.';
      });
      razorpay.open();
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
        this.error = err.message || 'We could not confirm the payment. Please try again.';
      }
    },
  };
}
