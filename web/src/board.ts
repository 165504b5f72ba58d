// The board's state, kept current by the live stream: each logged event folds into the
// incident it names, as the server's folds do (the payload carries the state after it).
import type { Incident } from "./api";

export interface Envelope {
  type: string;
  occurred_at: string;
  payload: Record<string, unknown>;
}

export const CLOSED = new Set(["resolved", "cancelled", "merged"]);

/** Apply one event to the incidents by id; returns the id it changed, if any. */
export function applyEvent(incidents: Map<string, Incident>, event: Envelope): string | null {
  const p = event.payload;
  if (event.type === "incident.reported") {
    const id = String(p.id);
    incidents.set(id, {
      id,
      kind: String(p.kind),
      priority: String(p.priority ?? "normal"),
      region: String(p.region ?? ""),
      address: String(p.address ?? ""),
      state: "reported",
      team_id: null,
      reported_at: String(p.reported_at),
      latitude: Number(p.latitude),
      longitude: Number(p.longitude),
    });
    return id;
  }
  const id = typeof p.incident_id === "string" ? p.incident_id : null;
  const known = id ? incidents.get(id) : undefined;
  if (!id || !known) return null;
  if (event.type === "team.assigned") {
    known.state = "assigned";
    known.team_id = String(p.team_id);
  } else if (event.type === "incident.queued") {
    known.state = "queued";
  } else if (typeof p.state === "string") {
    known.state = p.state;
  }
  if (event.type === "task.declined" || event.type === "task.reassigned") known.team_id = null;
  if (event.type === "incident.reprioritized") known.priority = String(p.new_priority);
  return id;
}

export function openOnes(incidents: Map<string, Incident>): Incident[] {
  return [...incidents.values()]
    .filter((i) => !CLOSED.has(i.state))
    .sort((a, b) => a.reported_at.localeCompare(b.reported_at));
}
