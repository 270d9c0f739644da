// Entry point bundled by esbuild into static/dist/app.js (one IIFE, loaded with `defer`).
// Page scripts that need Alpine listen for `alpine:init` and call Alpine.data() there.
// Alpine's CSP build: it reads expressions without eval or Function(), so the pages' content
// security policy needs no 'unsafe-eval'. Expressions stay simple (no arrow functions, statements
// or globals); anything more is a method of a component registered here.
import Alpine from '@alpinejs/csp';

import checkout from './js/checkout.js';
import avatarPreview from './js/components/avatar-preview.js';
import dashboardChart from './js/components/charts.js';
import choice from './js/components/choice.js';
import copyLink from './js/components/copy-link.js';
import countdown from './js/components/countdown.js';
import dropdown from './js/components/dropdown.js';
import flash from './js/components/flash.js';
import holdTimer from './js/components/hold-timer.js';
import navMenu from './js/components/nav-menu.js';
import { notificationBell, notificationCenter } from './js/components/notifications.js';
import passwordField from './js/components/password-field.js';
import seatWarning from './js/components/seat-warning.js';
import tagInput from './js/components/tag-input.js';
import { configured } from './js/element-config.js';
import { connectRealtime } from './js/realtime.js';
import giftForm, { giftReturn } from './js/room/gifts.js';

// Loading the bundle twice must not start a second Alpine over the same DOM.
if (!window.Alpine) {
  window.Alpine = Alpine;

  Alpine.data('navMenu', navMenu);
  Alpine.data('dropdown', dropdown);
  Alpine.data('flash', flash);
  Alpine.data('tagInput', tagInput);
  Alpine.data('passwordField', passwordField);
  Alpine.data('avatarPreview', avatarPreview);
  Alpine.data('checkout', configured(checkout));
  Alpine.data('holdTimer', configured(holdTimer));
  Alpine.data('choice', configured(choice));
  Alpine.data('copyLink', copyLink);
  Alpine.data('giftForm', giftForm);
  Alpine.data('giftReturn', giftReturn);
  Alpine.data('notificationBell', notificationBell);
  Alpine.data('notificationCenter', notificationCenter);
  Alpine.data('dashboardChart', configured(dashboardChart));
  Alpine.data('countdown', configured(countdown));
  Alpine.data('seatWarning', configured(seatWarning));

  // The live room's component is a chunk of its own, loaded only on the room page, before Alpine
  // starts there.
  const ready = document.getElementById('room-config')
    ? import('./js/room/index.js').then(({ default: room }) => Alpine.data('room', room))
    : Promise.resolve();

  connectRealtime();
  ready.catch((error) => console.error('The room could not load.', error)).finally(() => Alpine.start());
}
