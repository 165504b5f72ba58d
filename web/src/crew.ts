// The crew's phone without I/O: what a team may do next with a task, where it will stand once
// the queued taps are sent, how far away it is, what the dispatch center noted, and what to tell
// the crew when the server refuses a tap or takes a task away.
import type { TimelineEntry } from "./api";
import type { Envelope } from "./board";
import type { MessageKey } from "./i18n";

export type Step = "ack" | "decline" | "en-route" | "on-scene" | "resolve";

export const STEP_LABELS: Record<Step, MessageKey> = {
  ack: "crewAck",
  decline: "crewDecline",
  "en-route": "crewEnRoute",
  "on-scene": "crewOnScene",
  resolve: "crewResolve",
};

// the moves each state allows, as models/lifecycle.py has them
const NEXT: Record<string, Step[]> = {
  assigned: ["ack", "decline"],
  acknowledged: ["en-route", "on-scene", "decline"],
  en_route: ["on-scene", "decline"],
  on_scene: ["resolve"],
};
const AFTER: Record<Step, string> = {
  ack: "acknowledged",
  decline: "queued",
  "en-route": "en_route",
  "on-scene": "on_scene",
  resolve: "resolved",
};

export function nextSteps(state: string): Step[] {
  return NEXT[state] ?? [];
}

/** Where a task will stand once `queued` (in order) are applied; a move the state does not
 * allow leaves it where it is, as the server will refuse it. */
export function expectedState(state: string, queued: Step[]): string {
  return queued.reduce((now, step) => (nextSteps(now).includes(step) ? AFTER[step] : now), state);
}

export interface Place {
  latitude: number;
  longitude: number;
}

/** Great-circle distance in km (haversine): enough for "how far is it" on a phone. */
export function distanceKm(from: Place | null, to: Place): number | null {
  if (!from) return null;
  const rad = Math.PI / 180;
  const dLat = (to.latitude - from.latitude) * rad;
  const dLon = (to.longitude - from.longitude) * rad;
  const a =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(from.latitude * rad) * Math.cos(to.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(a)));
}

export interface Note {
  at: string;
  actor: string;
  text: string;
}

// the words a dispatch-center event carries for the crew (a team's own moves are not notes)
const NOTE_FIELDS = ["note", "notes", "remark", "comment", "reason"];

/** What the dispatch center said about the task, oldest first: reasons of reassignments and
 * cancellations, priority changes, and any note the report came with. */
export function dispatcherNotes(timeline: TimelineEntry[]): Note[] {
  const notes: Note[] = [];
  for (const entry of timeline) {
    if (entry.type.startsWith("task.")) continue;
    const details = entry.details;
    if (entry.type === "incident.reprioritized") {
      notes.push({ at: entry.at, actor: entry.actor, text: `${details.old_priority} → ${details.new_priority}` });
      continue;
    }
    const words = NOTE_FIELDS.map((f) => details[f]).filter((v): v is string => typeof v === "string" && v.trim() !== "");
    for (const text of words) notes.push({ at: entry.at, actor: entry.actor, text });
  }
  return notes;
}

/** What became of a tap the phone sent: applied, to send again later, waiting for a new
 * sign-in, or dropped with what to tell the crew. */
export type Verdict =
  | { kind: "applied" }
  | { kind: "retry" }
  | { kind: "signIn" }
  | { kind: "csrf" }
  | { kind: "dropped"; message: MessageKey; detail: string };

/** The verdict on an answer (`status` null: no network). */
export function verdictOf(status: number | null, body: Record<string, unknown> = {}): Verdict {
  if (status === null || status === 408 || status === 429 || status >= 500) return { kind: "retry" };
  if (status < 300) return { kind: "applied" };
  const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? "");
  if (status === 401) return { kind: "signIn" };
  if (status === 403 && detail.includes("CSRF")) return { kind: "csrf" };
  if (status === 409) return { kind: "dropped", message: refusalOf(body), detail };
  if (status === 404) return { kind: "dropped", message: "crewWithdrawn", detail };
  return { kind: "dropped", message: "crewRefused", detail };
}

function refusalOf(body: Record<string, unknown>): MessageKey {
  const state = body.current_state;
  if (body.withdrawn === true || state === "cancelled" || state === "merged") return "crewWithdrawn";
  if (state === "resolved") return "crewAlreadyDone";
  return "crewStateChanged";
}

/** What to tell the crew when a live event takes one of its tasks away (null: it stays). */
export function leavingMessage(event: Envelope, teamId: string): MessageKey | null {
  const p = event.payload;
  if (event.type === "incident.cancelled") return "crewCancelledNow";
  if (event.type === "task.reassigned" && p.from_team_id === teamId) return "crewTimedOutNow";
  if (event.type === "incident.reassigned" && p.from_team_id === teamId && p.to_team_id !== teamId) {
    return "crewReassignedNow";
  }
  return null;
}

/** An Idempotency-Key made at the tap. crypto.getRandomValues, not randomUUID: a phone on the
 * depot's plain-http address is not a secure context, and randomUUID needs one. */
export function tapKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "tap-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
