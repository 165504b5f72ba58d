// The board's state, kept current by the live stream: each logged event folds into the
// incident it names, as the server's folds do (the payload carries the state after it).
import type { Clock, Incident, TeamMark } from "./api";

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
      clocks: [],
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
  if (event.type === "incident.merged") known.master_id = String(p.master_id);
  if (event.type === "incident.unlinked") known.master_id = null;
  if (Array.isArray(p.clocks)) mergeClocks(known, p.clocks as Clock[]);
  return id;
}

function mergeClocks(incident: Incident, changed: Clock[]): void {
  for (const clock of changed) {
    const at = incident.clocks.findIndex((c) => c.kind === clock.kind && c.attempt === clock.attempt);
    if (at >= 0) incident.clocks[at] = clock;
    else incident.clocks.push(clock);
  }
}

export interface Countdown {
  kind: string;
  remainingS: number; // negative once breached
  level: "ok" | "warn50" | "warn75" | "breached";
}

/** The clock that runs out first, how long it has left, and how close it is to its deadline
 * (warnings at 50 % and 75 % of its target, as the watchdog's). */
export function countdown(incident: Incident, now: Date): Countdown | null {
  const open = incident.clocks.filter((c) => !c.closed_at && (c.state === "running" || c.state === "breached"));
  if (!open.length) return null;
  const next = open.reduce((a, b) => (a.deadline <= b.deadline ? a : b));
  const start = new Date(next.started_at).getTime();
  const end = new Date(next.deadline).getTime();
  const used = (now.getTime() - start) / Math.max(1, end - start);
  const level = used >= 1 || next.state === "breached" ? "breached" : used >= 0.75 ? "warn75" : used >= 0.5 ? "warn50" : "ok";
  return { kind: next.kind, remainingS: Math.round((end - now.getTime()) / 1000), level };
}

export function clockText(seconds: number): string {
  const sign = seconds < 0 ? "-" : "";
  const s = Math.abs(seconds);
  return `${sign}${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Storm groups: how many duplicates are merged into each open master. */
export function groupSizes(incidents: Map<string, Incident>): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const i of incidents.values()) {
    if (i.state === "merged" && i.master_id) sizes.set(i.master_id, (sizes.get(i.master_id) ?? 0) + 1);
  }
  return sizes;
}

export interface Filters {
  region: string;
  kind: string;
  priority: string;
  state: string;
}

/** Whether an incident passes the board's filters (an empty filter lets everything through). */
export function matches(incident: Incident, filters: Filters): boolean {
  return (
    (!filters.region || incident.region === filters.region) &&
    (!filters.kind || incident.kind === filters.kind) &&
    (!filters.priority || incident.priority === filters.priority) &&
    (!filters.state || incident.state === filters.state)
  );
}

export function openOnes(incidents: Map<string, Incident>): Incident[] {
  return [...incidents.values()]
    .filter((i) => !CLOSED.has(i.state))
    .sort((a, b) => a.reported_at.localeCompare(b.reported_at));
}

/** A team's load as the map colours it: free, busy (some capacity left) or full. */
export function loadLevel(team: TeamMark): "free" | "busy" | "full" | "away" {
  if (team.status !== "available") return "away";
  if (team.active_tasks <= 0) return "free";
  return team.active_tasks >= team.capacity ? "full" : "busy";
}

/** Events that change a team's load: the board reads the teams again (a fresh read, not a
 * delta, so an event the first read already counted is not counted twice). */
export const LOAD_EVENTS = new Set([
  "team.assigned", "task.resolved", "task.declined", "task.reassigned", "incident.cancelled",
]);

/** A team moved: its latest fix, as the server's fold keeps it. */
export function applyToTeams(teams: Map<string, TeamMark>, event: Envelope): void {
  if (event.type !== "team.located") return;
  const p = event.payload;
  const team = teams.get(String(p.team_id));
  if (team) Object.assign(team, { latitude: Number(p.latitude), longitude: Number(p.longitude), located_at: String(p.located_at) });
}
