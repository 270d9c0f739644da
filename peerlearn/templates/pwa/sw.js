{#- PeerLearn's service worker, served as /sw.js by blueprints/pwa (docs/install.md). Rendered
    with this build's file names, so a new build is a new worker. Plain JavaScript, not HTML:
    every value from the server goes through tojson. -#}
// PeerLearn's service worker: the app shell for offline use, and Web Push notifications.
//
// - Installing caches the shell: the offline page, this build's stylesheet and script (hashed
//   names) with the chunks the script needs at once, the icons.
// - Hashed static files are served from the cache first (their names change with their content);
//   the shell's unhashed files (icons) from the network, and from the cache when offline.
// - Page navigations go to the network; when it cannot be reached, the cached offline page is
//   shown. Pages are never cached (they hold an account's data), nor is anything under the API
//   or anything sent other than with GET.
// - Activating deletes the caches of earlier versions.
// - A push shows its {title, body, url, tag} as a notification; a tap focuses or opens url (this
//   site's only: another site's url opens the home page).
const VERSION = {{ version|tojson }};
const SHELL_CACHE = `peerlearn-shell-${VERSION}`;
const ASSET_CACHE = `peerlearn-assets-${VERSION}`;
const PRECACHE = {{ precache|tojson }};
const OFFLINE_URL = {{ offline_url|tojson }};
const STATIC_PREFIX = {{ static_prefix|tojson }};
const API_PREFIX = {{ api_prefix|tojson }};
const HASHED = /-[A-Z0-9]{8}\.(?:js|css)$/;
const ICON = PRECACHE.find((url) => url.endsWith('/icon-192.png'));

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // Without cookies: the offline page is the same for everyone and carries no account's data.
    await Promise.all(PRECACHE.map(async (url) => {
      const response = await fetch(url, { credentials: 'omit', cache: 'no-cache' });
      if (!response.ok) throw new Error(`could not cache ${url}: ${response.status}`);
      await cache.put(url, response);
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const current = new Set([SHELL_CACHE, ASSET_CACHE]);
    const names = await caches.keys();
    await Promise.all(
      names.filter((name) => name.startsWith('peerlearn-') && !current.has(name)).map((name) => caches.delete(name)),
    );
    await self.clients.claim();
  })());
});

async function fromNetworkOrOffline(request) {
  try {
    return await fetch(request);
  } catch (error) {
    const offline = await caches.match(OFFLINE_URL, { cacheName: SHELL_CACHE });
    return offline || Response.error();
  }
}

async function fromCacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === 'basic') {
    const cache = await caches.open(ASSET_CACHE);
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith(API_PREFIX)) return;
  if (request.mode === 'navigate') {
    event.respondWith(fromNetworkOrOffline(request));
  } else if (url.pathname.startsWith(STATIC_PREFIX) && HASHED.test(url.pathname)) {
    event.respondWith(fromCacheFirst(request));
  } else if (PRECACHE.includes(url.pathname)) {
    // Unhashed files of the shell (icons; app.js and app.css while `npm run watch` rebuilds them
    // under one name): the network's copy while there is one, the cached one offline.
    event.respondWith(fetch(request).catch(() => caches.match(url.pathname, { cacheName: SHELL_CACHE })));
  }
});

self.addEventListener('push', (event) => {
  let message = {};
  if (event.data) {
    try {
      message = event.data.json();
    } catch (error) {
      message = { body: event.data.text() };
    }
  }
  const options = { body: message.body || '', icon: ICON, data: { url: message.url || '/' } };
  if (message.tag) {
    // A newer message about the same session replaces the older one, and still alerts.
    options.tag = message.tag;
    options.renotify = true;
  }
  event.waitUntil(self.registration.showNotification(message.title || 'PeerLearn', options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = tappedUrl(event.notification.data && event.notification.data.url);
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = windows.find((client) => client.url === target);
    if (open) return open.focus();
    const controlled = windows.find((client) => 'navigate' in client && client.url.startsWith(self.location.origin));
    if (controlled) {
      // Only a window this worker controls can be navigated; any other gets a window of its own.
      // The tab goes to the url even if the browser refuses to bring it to the front.
      await controlled.focus().catch(() => {});
      const navigated = await controlled.navigate(target).catch(() => null);
      if (navigated) return navigated;
    }
    return self.clients.openWindow(target);
  })());
});

// Where a tap goes: the notification's url when it is on this site, else the home page (a message
// must not send anyone to another site, nor run a javascript: url).
function tappedUrl(url) {
  const home = new URL('/', self.location.origin).href;
  try {
    const given = new URL(url || '/', self.location.origin);
    return given.origin === self.location.origin ? given.href : home;
  } catch (error) {
    return home;
  }
}
