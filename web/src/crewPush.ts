// The crew app's service worker (public/sw.js: the app shell kept for offline, a push shown as
// a notification) and this browser's Web Push subscription.
import { keepPushSubscription, pushKey } from "./crewApi";

export type PushState = "on" | "ask" | "denied" | "unavailable";

const READY_WITHIN_MS = 10_000;

/** The worker, registered at / so its scope is the whole app; null where the browser has
 * none (an old browser, or a page not served over HTTPS or from this machine). */
export async function registerWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!("serviceWorker" in navigator)) return null;
  try {
    return await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  } catch {
    return null;
  }
}

/** Subscribe this browser to push and give the subscription to everycall. Asks the crew for
 * permission only when `ask` (a tap on the button: phones allow the question only then). */
export async function subscribePush(worker: ServiceWorkerRegistration | null, ask: boolean): Promise<PushState> {
  if (!worker || !("PushManager" in window) || !("Notification" in window)) return "unavailable";
  let permission = Notification.permission;
  if (permission === "default" && ask) permission = await Notification.requestPermission();
  if (permission === "denied") return "denied";
  if (permission !== "granted") return "ask";
  try {
    const active = await activeWorker();
    const subscription =
      (await active.pushManager.getSubscription()) ??
      (await active.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes((await pushKey()).public_key) }));
    await keepPushSubscription(subscription.toJSON());
    return "on";
  } catch {
    // no push service behind the browser (a Chromium without one, as in the browser tests)
    return "unavailable";
  }
}

/** Signed out: this browser drops its subscription too, so nothing reaches a signed-out phone
 * (everycall forgets it when the session ends). */
export async function dropPushSubscription(): Promise<void> {
  const worker = await navigator.serviceWorker?.getRegistration();
  const subscription = await worker?.pushManager?.getSubscription();
  await subscription?.unsubscribe();
}

function activeWorker(): Promise<ServiceWorkerRegistration> {
  const late = new Promise<never>((_, failed) => setTimeout(() => failed(new Error("no active worker")), READY_WITHIN_MS));
  return Promise.race([navigator.serviceWorker.ready, late]);
}

/** The VAPID public key (base64url) as the bytes PushManager takes. */
export function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(base64url.length / 4) * 4, "=");
  const text = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(text.length));
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
