// Every tap a crew makes waits on the phone, in order, until the server has answered it: in
// IndexedDB, so taps made with no signal survive the app being closed or the phone restarting.
// Online or not, a tap goes through the queue, so the server gets them in the order they were
// made; each carries the Idempotency-Key made at the tap, so one sent twice is applied once.
import { type Step, type Verdict, verdictOf } from "./crew";
import type { MessageKey } from "./i18n";

export interface Tap {
  seq?: number; // the queue's order, given by the store
  key: string; // the Idempotency-Key
  username: string; // whose tap: sent only while that person is signed in
  incidentId: string;
  step: Step;
  text: string; // a decline's reason, a resolve's notes
  madeAt: string;
}

export interface TapStore {
  all(): Promise<Tap[]>; // oldest first
  add(tap: Tap): Promise<void>;
  remove(seq: number): Promise<void>;
}

export interface Answer {
  status: number | null; // null: no network
  body: Record<string, unknown>;
}

export interface Dropped {
  incidentId: string;
  steps: Step[];
  message: MessageKey;
  detail: string;
}

export interface Flushed {
  applied: Record<string, unknown>[]; // the server's answers: the tasks as they now stand
  dropped: Dropped[];
  stopped: Verdict["kind"] | null; // why the rest still wait (retry, signIn, csrf), or null
}

/** Send `username`'s taps in order until one must wait. A refused tap is dropped, and so are
 * the later taps on the same task (they depended on it), each told to the crew. */
export async function flushTaps(
  store: TapStore,
  username: string,
  send: (tap: Tap) => Promise<Answer>,
): Promise<Flushed> {
  const flushed: Flushed = { applied: [], dropped: [], stopped: null };
  const refused = new Map<string, Dropped>();
  for (const tap of (await store.all()).filter((t) => t.username === username)) {
    const earlier = refused.get(tap.incidentId);
    if (earlier) {
      earlier.steps.push(tap.step);
      await store.remove(tap.seq as number);
      continue;
    }
    const answer = await send(tap);
    const verdict = verdictOf(answer.status, answer.body);
    if (verdict.kind === "retry" || verdict.kind === "signIn" || verdict.kind === "csrf") {
      flushed.stopped = verdict.kind;
      break;
    }
    await store.remove(tap.seq as number);
    if (verdict.kind === "applied") {
      flushed.applied.push(answer.body);
    } else {
      const dropped = { incidentId: tap.incidentId, steps: [tap.step], message: verdict.message, detail: verdict.detail };
      refused.set(tap.incidentId, dropped);
      flushed.dropped.push(dropped);
    }
  }
  return flushed;
}

/** A queue in memory: for a browser that refuses IndexedDB (some private modes), and tests. */
export class MemoryTaps implements TapStore {
  private taps: Tap[] = [];
  private next = 1;

  async all(): Promise<Tap[]> {
    return this.taps.map((t) => ({ ...t }));
  }

  async add(tap: Tap): Promise<void> {
    this.taps.push({ ...tap, seq: this.next++ });
  }

  async remove(seq: number): Promise<void> {
    this.taps = this.taps.filter((t) => t.seq !== seq);
  }
}

const DATABASE = "everycall-crew";
const TAPS = "taps";

function request<T>(asked: IDBRequest<T>): Promise<T> {
  return new Promise((done, failed) => {
    asked.onsuccess = () => done(asked.result);
    asked.onerror = () => failed(asked.error);
  });
}

/** The queue in IndexedDB: one object store, its auto-incremented key the order of the taps. */
export class IndexedDbTaps implements TapStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(): Promise<IndexedDbTaps> {
    const opening = indexedDB.open(DATABASE, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(TAPS, { keyPath: "seq", autoIncrement: true });
    return new IndexedDbTaps(await request(opening));
  }

  async all(): Promise<Tap[]> {
    const store = this.db.transaction(TAPS, "readonly").objectStore(TAPS);
    return request(store.getAll() as IDBRequest<Tap[]>); // in key order
  }

  async add(tap: Tap): Promise<void> {
    await this.write((store) => store.add(tap));
  }

  async remove(seq: number): Promise<void> {
    await this.write((store) => store.delete(seq));
  }

  /** A change, done once its transaction is committed: a tap is kept before it is shown. */
  private write(change: (store: IDBObjectStore) => void): Promise<void> {
    const transaction = this.db.transaction(TAPS, "readwrite");
    change(transaction.objectStore(TAPS));
    return new Promise((done, failed) => {
      transaction.oncomplete = () => done();
      transaction.onerror = transaction.onabort = () => failed(transaction.error);
    });
  }
}

/** The phone's queue: IndexedDB where the browser allows it, else memory. */
export async function openTapStore(): Promise<TapStore> {
  try {
    return await IndexedDbTaps.open();
  } catch {
    return new MemoryTaps();
  }
}
