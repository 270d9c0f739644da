// Razorpay Checkout, opened one way for every payment (a booking's pay page and a gift in the
// room). The checkout script is a plain <script src> the template adds; it may still be loading.
//
// openRazorpay(order, { onPaid, onDismiss, onFailed }) resolves false when the script never
// arrived (the caller says so), else opens the window and resolves true. `order` carries the
// server's answer: keyId, orderId, amount (paise), currency, name, description, prefill.
// onPaid(response) gets the signed result to verify; onFailed(message) a failed attempt's reason
// (the window stays open for another try); onDismiss() a window closed without paying.
import { t } from './i18n.js';

const BRAND_COLOR = '#5b3fd8';
const SCRIPT_WAIT_MS = 10000;

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

export async function openRazorpay(order, { onPaid, onDismiss, onFailed }) {
  if (!(await razorpayReady())) return false;
  const razorpay = new window.Razorpay({
    key: order.keyId,
    order_id: order.orderId,
    amount: order.amount,
    currency: order.currency,
    name: order.name,
    description: order.description,
    prefill: order.prefill || {},
    theme: { color: BRAND_COLOR },
    handler: (response) => onPaid(response),
    modal: { ondismiss: () => onDismiss() },
  });
  razorpay.on('payment.failed', (response) => {
    const reason = response && response.error && response.error.description;
    onFailed(reason ? t('Payment failed: %(reason)s', { reason }) : t('The payment failed. You can try again.'));
  });
  razorpay.open();
  return true;
}
