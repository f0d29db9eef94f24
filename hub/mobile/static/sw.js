/* The app's service worker: the app opens without signal (its files are kept), and punches
   taken without signal are sent when the network returns (Background Sync, and the page
   itself when it is open). The hub's API is never answered from here: a request either
   reaches the hub or fails, so nothing is acknowledged that the hub has not kept. */
importScripts("/m/queue.js");

const CACHE = "presensi-v1";
const SHELL = ["/m/", "/m/app.js", "/m/queue.js", "/m/app.css", "/m/manifest.webmanifest", "/m/icon-192.png",
  "/m/icon-512.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith("/m/")) {
    return;  // the API and everything else: straight to the network
  }
  // the newest app when online, the kept one without signal
  event.respondWith(fetch(event.request).then((r) => {
    if (r.ok) {
      const copy = r.clone();
      caches.open(CACHE).then((c) => c.put(event.request, copy));
    }
    return r;
  }).catch(() => caches.match(event.request, { ignoreSearch: true })
    .then((hit) => hit || caches.match("/m/"))));
});

self.addEventListener("sync", (event) => {
  if (event.tag === "presensi") {
    event.waitUntil(self.HubQueue.deliver().then(tell));
  }
});

self.addEventListener("message", (event) => {
  if (event.data === "deliver") event.waitUntil(self.HubQueue.deliver().then(tell));
});

function tell(outcome) {
  return self.clients.matchAll().then((all) => all.forEach((c) => c.postMessage({ delivered: outcome })));
}
