// Entry point bundled by esbuild into static/dist/app.js (one IIFE, loaded with `defer`).
// Page scripts that need Alpine listen for `alpine:init` and call Alpine.data() there.
import Alpine from 'alpinejs';

import checkout from './js/checkout.js';
import avatarPreview from './js/components/avatar-preview.js';
import dashboardChart from './js/components/charts.js';
import countdown from './js/components/countdown.js';
import dropdown from './js/components/dropdown.js';
import flash from './js/components/flash.js';
import navMenu from './js/components/nav-menu.js';
import { notificationBell, notificationCenter } from './js/components/notifications.js';
import passwordField from './js/components/password-field.js';
import seatWarning from './js/components/seat-warning.js';
import tagInput from './js/components/tag-input.js';
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
  Alpine.data('checkout', checkout);
  Alpine.data('giftForm', giftForm);
  Alpine.data('giftReturn', giftReturn);
  Alpine.data('notificationBell', notificationBell);
  Alpine.data('notificationCenter', notificationCenter);
  Alpine.data('dashboardChart', dashboardChart);
  Alpine.data('countdown', countdown);
  Alpine.data('seatWarning', seatWarning);

  // The live room's component is a chunk of its own, loaded only on the room page, before Alpine
  // starts there.
  const ready = document.getElementById('room-config')
    ? import('./js/room/index.js').then(({ default: room }) => Alpine.data('room', room))
    : Promise.resolve();

  connectRealtime();
  ready.catch((error) => console.error('The room could not load.', error)).finally(() => Alpine.start());
}
