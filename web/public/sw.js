// The crew app's service worker, served from / so its scope is the whole app.
//
// - The app shell (the page, its scripts and styles, the manifest and icons) is cached when the
//   worker installs, so the app opens with no network; the page itself is fetched fresh when
//   the network is there.
// - The crew's reads (who is signed in, the team's tasks, a task's detail, duty) are answered
//   from the network when there is one, else from the last answer kept; signing out forgets them.
// - Changes (the taps) are never answered here: the app queues them itself (IndexedDB) and
//   sends them in order with their Idempotency-Keys when the network returns.
// - A push message is shown as a notification; a tap on it opens the app at that task.
const SHELL = "everycall-shell-v1";
const READS = "everycall-reads-v1";
const SHELL_FILES = ["/", "/manifest.webmanifest", "/icons/crew.svg", "/icons/crew-192.png", "/icons/crew-512.png"];
const KEPT_READS = [/^\/session$/, /^\/me\/duty$/, /^\/teams\/[^/]+\/tasks$/, /^\/incidents\/[^/]+$/];

self.addEventListener("install", (event) => {
  event.waitUntil(cacheShell().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  const current = new Set([SHELL, READS]);
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => !current.has(n)).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

/** The shell: the fixed files, and the built scripts and styles the page names (their names
 * carry a hash of their content, so they are read from the page rather than listed here). */
async function cacheShell() {
  const cache = await caches.open(SHELL);
  await cache.addAll(SHELL_FILES);
  const page = await (await cache.match("/")).text();
  const assets = [...page.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  await cache.addAll(assets);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "DELETE" && url.pathname === "/session") {
    event.waitUntil(caches.delete(READS)); // signed out: nothing of the crew stays behind
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate" && url.pathname === "/") {
    event.respondWith(networkFirst(request, SHELL, "/"));
  } else if (url.pathname.startsWith("/assets/") || SHELL_FILES.includes(url.pathname)) {
    event.respondWith(cacheFirst(request));
  } else if (KEPT_READS.some((path) => path.test(url.pathname))) {
    event.respondWith(networkFirst(request, READS));
  }
});

async function cacheFirst(request) {
  const kept = await caches.match(request);
  if (kept) return kept;
  const answer = await fetch(request);
  if (answer.ok) (await caches.open(SHELL)).put(request, answer.clone());
  return answer;
}

/** The network's answer (kept for later), else the last one kept (the page under "/", whatever
 * task its address names after the #). */
async function networkFirst(request, cacheName, fallback) {
  const cache = await caches.open(cacheName);
  try {
    const answer = await fetch(request);
    if (answer.ok) cache.put(fallback ?? request, answer.clone());
    return answer;
  } catch (offline) {
    const kept = await cache.match(fallback ?? request);
    if (kept) return kept;
    throw offline;
  }
}

self.addEventListener("push", (event) => {
  const notice = readNotice(event.data);
  event.waitUntil(
    self.registration.showNotification(notice.title, {
      body: notice.body,
      tag: notice.incident_id || undefined, // a newer notice of the same task replaces the older
      renotify: Boolean(notice.incident_id),
      icon: "/icons/crew-192.png",
      badge: "/icons/crew-192.png",
      lang: "zh-CN",
      data: { url: notice.url || "/", incident_id: notice.incident_id, type: notice.type },
    }),
  );
});

/** The payload: JSON {title, body, incident_id, url, type}; a payload that is not JSON is
 * shown as its text rather than lost. */
function readNotice(data) {
  if (!data) return { title: "班组应用", body: "" };
  try {
    return data.json();
  } catch {
    return { title: "班组应用", body: data.text() };
  }
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || "/", self.location.origin).href;
  event.waitUntil(openAt(url));
});

/** Bring an open window of the app to the task, or open one there. */
async function openAt(url) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).origin !== self.location.origin) continue;
    await client.focus();
    client.postMessage({ type: "open-task", url });
    return;
  }
  await self.clients.openWindow(url);
}
