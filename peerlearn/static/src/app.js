// Entry point bundled by scripts/build_js.mjs into static/dist/app.js (an ES module, loaded with
// type="module"; the larger components are chunks of their own, see PAGE_COMPONENTS below).
// Page scripts that need Alpine listen for `alpine:init` and call Alpine.data() there.
// Alpine's CSP build: it reads expressions without eval or Function(), so the pages' content
// security policy needs no 'unsafe-eval'. Expressions stay simple (no arrow functions, statements
// or globals); anything more is a method of a component registered here.
import Alpine from '@alpinejs/csp';

import choice from './js/components/choice.js';
import copyLink from './js/components/copy-link.js';
import dashboardChart from './js/components/charts.js';
import dropdown from './js/components/dropdown.js';
import flash from './js/components/flash.js';
import holdTimer from './js/components/hold-timer.js';
import navMenu from './js/components/nav-menu.js';
import passwordField from './js/components/password-field.js';
import seatWarning from './js/components/seat-warning.js';
import { configured } from './js/element-config.js';
import { connectRealtime } from './js/realtime.js';
// Not used here: loaded with app.js so that the page chunks that send JSON (notifications, tag
// input, checkout, gifts) find it loaded, instead of fetching it one round trip after themselves
// before Alpine can start.
import './js/http.js';
// The service worker: offline page, cached shell, Web Push (js/pwa/register.js).
import './js/pwa/register.js';

// The larger components of a few pages are chunks of their own, loaded only where the page uses
// them, before Alpine starts there. The notification bell and center are on signed-in pages only:
// visitors (the landing page, the catalog, log-in) never download them.
const PAGE_COMPONENTS = {
  notificationBell: () => import('./js/components/notifications.js').then((module) => module.notificationBell),
  notificationCenter: () => import('./js/components/notifications.js').then((module) => module.notificationCenter),
  room: () => import('./js/room/index.js').then((module) => module.default),
  giftForm: () => import('./js/room/gifts.js').then((module) => module.default),
  giftReturn: () => import('./js/room/gifts.js').then((module) => module.giftReturn),
  tagInput: () => import('./js/components/tag-input.js').then((module) => module.default),
  avatarPreview: () => import('./js/components/avatar-preview.js').then((module) => module.default),
  timezonePicker: () => import('./js/components/timezone-picker.js').then((module) => module.default),
  checkout: () => import('./js/checkout.js').then((module) => configured(module.default)),
  countdown: () => import('./js/components/countdown.js').then((module) => configured(module.default)),
  recordingPlayer: () => import('./js/components/recording-player.js').then((module) => module.default),
  recordingProgress: () => import('./js/components/recording-progress.js').then((module) => configured(module.default)),
  pushToggle: () => import('./js/pwa/push-toggle.js').then((module) => configured(module.default)),
};

// Every x-data on the page, including those in <template>s that Alpine renders later.
function componentNames(root, names = new Set()) {
  for (const el of root.querySelectorAll('[x-data]')) names.add(el.getAttribute('x-data'));
  for (const template of root.querySelectorAll('template')) componentNames(template.content, names);
  return names;
}

// Loading the bundle twice must not start a second Alpine over the same DOM.
if (!window.Alpine) {
  window.Alpine = Alpine;

  Alpine.data('navMenu', navMenu);
  Alpine.data('dropdown', dropdown);
  Alpine.data('flash', flash);
  Alpine.data('passwordField', passwordField);
  Alpine.data('holdTimer', configured(holdTimer));
  Alpine.data('choice', configured(choice));
  Alpine.data('copyLink', copyLink);
  Alpine.data('dashboardChart', configured(dashboardChart));
  Alpine.data('seatWarning', configured(seatWarning));

  const used = [...componentNames(document)].filter((name) => name in PAGE_COMPONENTS);
  const ready = Promise.all(
    used.map((name) => PAGE_COMPONENTS[name]().then((component) => Alpine.data(name, component))),
  );

  connectRealtime();
  ready
    .catch((error) => console.error('A component of this page could not load.', error))
    .finally(() => Alpine.start());
}
