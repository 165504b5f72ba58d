// The board's state, kept current by the live stream: each logged event folds into the
// incident it names, as the server's folds do (the payload carries the state after it).
import type { Clock, Incident, TeamMark } from "./api";
import { shanghaiMinute, t } from "./i18n";

export interface Envelope {
  type: string;
  occurred_at: string;
  payload: Record<string, unknown>;
}

export const CLOSED = new Set(["resolved", "cancelled", "merged"]);

/** Apply one event to the incidents by id; returns the id it changed, if any. A changed
 * incident is a new object set into the map, never edited in place, so the board can keep
 * its incidents in a shallowly reactive map: 10,000 deeply reactive incidents cost more to
 * track on every redraw than to draw. */
export function applyEvent(incidents: Map<string, Incident>, event: Envelope): string | null {
  const p = event.payload;
  // a support task (支援任务) is an incident of its own, reported with its lead's id
  if (event.type === "incident.reported" || event.type === "incident.support_requested") {
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
      lead_id: typeof p.lead_id === "string" ? p.lead_id : null,
      clocks: [],
    });
    return id;
  }
  const id = typeof p.incident_id === "string" ? p.incident_id : null;
  const before = id ? incidents.get(id) : undefined;
  if (!id || !before) return null;
  const known: Incident = { ...before, clocks: [...before.clocks] };
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
  incidents.set(id, known);
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

/** An estimate as the board shows it: the Shanghai clock to the minute and how many minutes
 * away (none once it is due); "—" when there is none (no team could go, or it is closed). */
export function estimateText(iso: string | null | undefined, now: Date): string {
  if (!iso) return "—";
  const minutes = Math.round((new Date(iso).getTime() - now.getTime()) / 60000);
  return minutes > 0 ? `${shanghaiMinute(iso)} (${minutes} ${t("inMinutes")})` : shanghaiMinute(iso);
}

export function clockText(seconds: number): string {
  const sign = seconds < 0 ? "-" : "";
  const s = Math.abs(seconds);
  return `${sign}${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Whether two incidents are tasks of one incident (a lead and its supports, or the same
 * one): a change to either changes what the other's detail lists. */
export function sameIncident(incidents: Map<string, Incident>, a: string, b: string): boolean {
  const lead = (id: string) => incidents.get(id)?.lead_id ?? id;
  return lead(a) === lead(b);
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

/** Rows the open incidents' table lists, oldest report first: a table of 10,000 rows takes
 * the page seconds to lay out, and no one reads it; the filters narrow it down. */
export const LISTED_ROWS = 200;

export function openOnes(incidents: Map<string, Incident>): Incident[] {
  // a plain comparison: ISO times in UTC sort as text, and localeCompare is a hundred times
  // slower, which 10,000 open incidents resorted on every batch of events make felt
  return [...incidents.values()]
    .filter((i) => !CLOSED.has(i.state))
    .sort((a, b) => (a.reported_at < b.reported_at ? -1 : a.reported_at > b.reported_at ? 1 : 0));
}

/** Above this many open incidents shown, the map draws them by cells (see mapMarks). */
export const MAP_MARKS = 2000;
export const CELL_DEG = 0.1; // about 10 km: on the map, a mark's width

// which incident of a cell its mark shows: waiting first, then the most urgent priority, then
// the oldest report
const STATE_RANK: Record<string, number> = { reported: 0, queued: 0, assigned: 1, acknowledged: 2, en_route: 2, on_scene: 3 };
const PRIORITY_RANK: Record<string, number> = { critical: 0, hardship: 1, normal: 2, low: 3 };
const rankOf = (i: Incident): [number, number, string] => [STATE_RANK[i.state] ?? 4, PRIORITY_RANK[i.priority] ?? 4, i.reported_at];

function moreUrgent(a: Incident, b: Incident): boolean {
  const [x, y] = [rankOf(a), rankOf(b)];
  return x[0] !== y[0] ? x[0] < y[0] : x[1] !== y[1] ? x[1] < y[1] : x[2] < y[2];
}

export interface Drawn {
  incidents: Incident[];
  grouped: Map<string, number>; // reports beside each drawn one: its storm group, or its cell
}

/** What the map draws: every incident with its storm group's size; or, with more than
 * MAP_MARKS of them, one mark per cell of CELL_DEG, for the most urgent incident in it,
 * counting every report in the cell (10,000 marks take the page seconds to draw and redraw,
 * and overlap anyway). The chosen incident always has a mark of its own. */
export function mapMarks(open: Incident[], grouped: Map<string, number>, chosen: string | null): Drawn {
  if (open.length <= MAP_MARKS) return { incidents: open, grouped };
  const cells = new Map<number, { shown: Incident; reports: number }>();
  let own: Incident | null = null;
  for (const i of open) {
    if (i.id === chosen) {
      own = i;
      continue;
    }
    // a number, not a string: this runs over every open incident on every batch of events
    const key = Math.floor(i.latitude / CELL_DEG) * 10_000 + Math.floor(i.longitude / CELL_DEG);
    const reports = 1 + (grouped.get(i.id) ?? 0);
    const cell = cells.get(key);
    if (!cell) cells.set(key, { shown: i, reports });
    else {
      cell.reports += reports;
      if (moreUrgent(i, cell.shown)) cell.shown = i;
    }
  }
  const drawn: Drawn = { incidents: [], grouped: new Map() };
  for (const { shown, reports } of cells.values()) {
    drawn.incidents.push(shown);
    if (reports > 1) drawn.grouped.set(shown.id, reports - 1);
  }
  if (own) {
    drawn.incidents.push(own); // last: drawn on top
    if (grouped.has(own.id)) drawn.grouped.set(own.id, grouped.get(own.id) ?? 0);
  }
  return drawn;
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

/** GET /board/open: every open incident (and the merged reports of open storm groups) as
 * rows of fields in the order the answer names, read when the log was at `seq`. */
export interface OpenBoard {
  seq: number;
  incident_fields: string[];
  clock_fields: string[];
  incidents: unknown[][];
}

/** The rows of GET /board/open as the board's incidents. */
export function fromOpenBoard(answer: OpenBoard): Incident[] {
  const at = (fields: string[]) => (row: unknown[], name: string) => row[fields.indexOf(name)];
  const field = at(answer.incident_fields);
  const clockField = at(answer.clock_fields);
  return answer.incidents.map((row) => ({
    id: String(field(row, "id")),
    kind: String(field(row, "kind")),
    priority: String(field(row, "priority")),
    region: String(field(row, "region")),
    address: String(field(row, "address") ?? ""),
    state: String(field(row, "state")),
    team_id: (field(row, "team_id") as string | null) ?? null,
    reported_at: String(field(row, "reported_at")),
    latitude: Number(field(row, "latitude")),
    longitude: Number(field(row, "longitude")),
    master_id: (field(row, "master_id") as string | null) ?? null,
    lead_id: (field(row, "lead_id") as string | null | undefined) ?? null,
    eta_on_site: (field(row, "eta_on_site") as string | null | undefined) ?? null,
    ert: (field(row, "ert") as string | null | undefined) ?? null,
    clocks: (field(row, "clocks") as unknown[][]).map((c) => ({
      kind: String(clockField(c, "kind")),
      attempt: Number(clockField(c, "attempt")),
      state: String(clockField(c, "state")),
      started_at: String(clockField(c, "started_at")),
      deadline: String(clockField(c, "deadline")),
      closed_at: null,
    })),
  }));
}

/** The live stream's events on their way to the board. Held until the first read is in,
 * then those the read already shows (by sequence number) are dropped, so nothing is applied
 * twice or lost between the two; after that, applied in batches: in a storm, one render for
 * the events of a tenth of a second rather than one for each. */
export class LiveFeed {
  private held: [number, Envelope][] = [];
  private readAt: number | null = null; // the first read's sequence number, once it is in
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly apply: (events: Envelope[]) => void,
    private readonly batchMs = 100,
  ) {}

  push(seq: number, event: Envelope): void {
    this.held.push([seq, event]);
    if (this.readAt !== null && this.timer === null) this.timer = setTimeout(() => this.flush(), this.batchMs);
  }

  /** The first read is in, as of the log's `seq`. */
  loaded(seq: number): void {
    this.readAt = seq;
    this.flush();
  }

  private flush(): void {
    this.timer = null;
    const after = this.readAt ?? Infinity;
    const due = this.held.filter(([seq]) => seq > after).map(([, event]) => event);
    this.held = [];
    if (due.length) this.apply(due);
  }
}
