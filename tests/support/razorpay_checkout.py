"""A stand-in for Razorpay's checkout.js, served on loopback, for browser tests of the Razorpay path.

The real script opens Razorpay's payment window; this one defines a ``window.Razorpay`` that only
remembers what it was given, so a test can read the options the page opened Checkout with and then
act as the customer: ``window.razorpayStandIn.pay(result)`` calls the page's ``handler`` with a
signed result, ``fail(error)`` fires ``payment.failed`` and ``dismiss()`` closes the window through
``modal.ondismiss``. The test signs the result itself, with the key secret, as Razorpay does.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHECKOUT_PATH = "/v1/checkout.js"

CHECKOUT_JS = b"""(function () {
  'use strict';
  var opened = [];

  function Razorpay(options) {
    if (!(this instanceof Razorpay)) throw new TypeError('Razorpay must be called with new');
    this.options = options;
    this.listeners = {};
    this.isOpen = false;
  }
  Razorpay.prototype.on = function (event, callback) {
    (this.listeners[event] = this.listeners[event] || []).push(callback);
  };
  Razorpay.prototype.open = function () {
    this.isOpen = true;
    opened.push(this);
  };

  function current() {
    var checkout = opened[opened.length - 1];
    if (!checkout || !checkout.isOpen) throw new Error('no Razorpay Checkout is open');
    return checkout;
  }

  window.Razorpay = Razorpay;
  window.razorpayStandIn = {
    // What the page passed, without its callbacks (which do not survive JSON).
    openedWith: function () {
      return opened.map(function (checkout) { return JSON.parse(JSON.stringify(checkout.options)); });
    },
    isOpen: function () {
      return opened.length > 0 && opened[opened.length - 1].isOpen;
    },
    pay: function (result) {
      var checkout = current();
      checkout.isOpen = false;  // Checkout closes itself after a successful payment
      checkout.options.handler(result);
    },
    fail: function (error) {
      // The window stays open after a failed attempt, as Razorpay's does.
      (current().listeners['payment.failed'] || []).forEach(function (callback) {
        callback({ error: error });
      });
    },
    dismiss: function () {
      var checkout = current();
      checkout.isOpen = false;
      if (checkout.options.modal && checkout.options.modal.ondismiss) checkout.options.modal.ondismiss();
    },
  };
})();
"""


class CheckoutScriptServer:
    """Serves CHECKOUT_JS at ``url`` on 127.0.0.1 until ``stop()``; counts what it served."""

    def __init__(self):
        self.served = 0
        self._server = None
        self._thread = None

    def start(self):
        script_server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.split("?", 1)[0] != CHECKOUT_PATH:
                    self.send_error(404)
                    return
                script_server.served += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/javascript; charset=utf-8")
                self.send_header("Content-Length", str(len(CHECKOUT_JS)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(CHECKOUT_JS)

            def log_message(self, format, *args):
                """Quiet: a test reads ``served`` instead."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{CHECKOUT_PATH}"

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None
