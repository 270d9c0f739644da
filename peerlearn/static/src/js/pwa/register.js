// Starts the service worker (served at /sw.js by blueprints/pwa): the offline page, the cached
// app shell and Web Push. The layout names the worker's URL on its <link rel="manifest">, so a
// page without that link (none today) registers nothing. Loaded with app.js on every page.

export const serviceWorkerUrl = () => {
  const link = document.querySelector('link[rel="manifest"][data-service-worker]');
  return link ? link.dataset.serviceWorker : null;
};

export function registerServiceWorker() {
  const url = serviceWorkerUrl();
  if (!url || !('serviceWorker' in navigator)) return Promise.resolve(null);
  // Scope: the site's root, where the worker is served. Registering again is a no-op when the
  // worker is unchanged; a new build's worker installs beside it and takes over on activation.
  return navigator.serviceWorker.register(url, { scope: new URL('./', new URL(url, window.location.href)).pathname })
    .catch((error) => {
      console.warn('The service worker could not be registered.', error);
      return null;
    });
}

// After the page has loaded, so the worker's install (fetching the shell) never competes with it.
if (document.readyState === 'complete') {
  registerServiceWorker();
} else {
  window.addEventListener('load', () => registerServiceWorker(), { once: true });
}
