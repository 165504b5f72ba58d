// Storm mode, weather-alert proposals and the duty roster as the board shows them: pure
// functions over the answers of GET /storm, GET /alerts and GET /roster/now.
import { DIVISIONS } from "./geo";
import { type MessageKey, allMessages, locale } from "./i18n";

export interface StormView {
  division: string;
  active: boolean;
  reason: string;
  source: string; // "dispatcher", or "alert:<CAP identifier>"
  declared_by: string;
  declared_at: string | null;
  ended_by: string | null;
  ended_at: string | null;
  policy: Record<string, unknown>;
  reserves: string[];
}

export interface LoggedAlert {
  seq: number;
  type: string;
  occurred_at: string;
  payload: Record<string, unknown>;
}

export interface AlertsBoard {
  alerts: LoggedAlert[];
  proposals: LoggedAlert[];
  storms_on: string[];
}

export interface ShiftView {
  starts_at: string;
  ends_at: string;
}

export interface TeamDuty {
  team_id: string;
  name: string;
  region: string;
  reserve: boolean;
  rostered: boolean; // false: no shifts at all, so always on duty
  on_duty: boolean;
  current: ShiftView | null;
  next: ShiftView | null;
}

export interface DutyBoard {
  at: string;
  on_duty: number;
  off_duty: number;
  teams: TeamDuty[];
}

// the stream's events after which the banner, the proposals or the roster read again
export const STORM_EVENTS = ["storm.declared", "storm.ended", "storm.proposed", "roster.shifts_imported"];

const NAMES = new Map(DIVISIONS.map((d) => [d.code, d]));

/** A division's name as a person reads it: 荆州市 in Chinese, Jingzhou in English. */
export function divisionName(code: string): string {
  const known = NAMES.get(code);
  if (!known) return code;
  return locale.value === "zh-CN" ? known.name : known.nameEn;
}

/** Both names side by side, Chinese first: the banner names the division in both. */
export function divisionBoth(code: string): string {
  const known = NAMES.get(code);
  return known ? `${known.name} ${known.nameEn}` : code;
}

/** The divisions in storm mode now, the longest in it first. */
export function activeStorms(storms: StormView[]): StormView[] {
  return storms
    .filter((s) => s.active)
    .sort((a, b) => (a.declared_at ?? "").localeCompare(b.declared_at ?? "") || a.division.localeCompare(b.division));
}

/** Who declared it: the dispatcher's name, or the CAP alert it came from. */
export function declaredBy(storm: StormView): string {
  if (storm.source.startsWith("alert:")) return `${storm.source.slice("alert:".length)} (${storm.declared_by})`;
  return storm.declared_by;
}

export interface Proposal {
  seq: number;
  division: string;
  change: "declare" | "end";
  reason: string;
  event: string;
  severity: string;
  identifier: string;
  at: string;
}

function proposalOf(logged: LoggedAlert): Proposal {
  const p = logged.payload;
  return {
    seq: logged.seq,
    division: String(p.division ?? ""),
    change: p.change === "end" ? "end" : "declare",
    reason: String(p.reason ?? ""),
    event: String(p.event ?? ""),
    severity: String(p.severity ?? ""),
    identifier: String(p.identifier ?? ""),
    at: String(p.proposed_at ?? logged.occurred_at),
  };
}

/** The proposals still waiting for a dispatcher, newest first, one per division and change: a
 * declare where storm mode is already on, or an end where it is already off, is settled. */
export function openProposals(board: AlertsBoard): Proposal[] {
  const on = new Set(board.storms_on);
  const seen = new Set<string>();
  const open: Proposal[] = [];
  for (const proposal of [...board.proposals].sort((a, b) => b.seq - a.seq).map(proposalOf)) {
    const key = `${proposal.division} ${proposal.change}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const settled = proposal.change === "declare" ? on.has(proposal.division) : !on.has(proposal.division);
    if (!settled) open.push(proposal);
  }
  return open;
}

/** The reason a declare sends: the alert's own words, cut to the API's 500 characters. */
export function declareReason(proposal: Proposal): string {
  const words = proposal.reason || `${proposal.event} ${proposal.identifier}`.trim();
  return (words || "weather alert").slice(0, 500);
}

export interface ShiftChange {
  at: string;
  team_id: string;
  name: string;
  change: "on" | "off";
}

export interface DivisionDuty {
  division: string;
  onDuty: TeamDuty[];
  offDuty: number;
  changes: ShiftChange[]; // the next shift changes, soonest first
}

/** A team's next change: an on-duty team's shift ends, an off-duty one's next one starts. */
function changeOf(team: TeamDuty): ShiftChange | null {
  if (team.on_duty && team.current) return { at: team.current.ends_at, team_id: team.team_id, name: team.name, change: "off" };
  if (!team.on_duty && team.next) return { at: team.next.starts_at, team_id: team.team_id, name: team.name, change: "on" };
  return null;
}

/** The roster per division: who is on duty now and the next few shift changes. */
export function dutyByDivision(board: DutyBoard, changesPerDivision = 3): DivisionDuty[] {
  const grouped = new Map<string, TeamDuty[]>();
  for (const team of board.teams) grouped.set(team.region, [...(grouped.get(team.region) ?? []), team]);
  return [...grouped.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([division, teams]) => ({
      division,
      onDuty: teams.filter((t) => t.on_duty),
      offDuty: teams.filter((t) => !t.on_duty).length,
      changes: teams
        .map(changeOf)
        .filter((c): c is ShiftChange => c !== null)
        .sort((a, b) => a.at.localeCompare(b.at) || a.team_id.localeCompare(b.team_id))
        .slice(0, changesPerDivision),
    }));
}

/** A label in both languages, Chinese first: what storm mode is must read the same to all. */
export function both(key: MessageKey): string {
  return `${allMessages["zh-CN"][key]} ${allMessages.en[key]}`;
}

/** The first shift change after the board's moment: the duty panel reads the roster again
 * then, since a shift starting or ending logs no event. */
export function nextChangeAt(board: DutyBoard): string | null {
  const after = board.at;
  const moments = board.teams
    .map(changeOf)
    .filter((c): c is ShiftChange => c !== null && c.at > after)
    .map((c) => c.at)
    .sort();
  return moments[0] ?? null;
}
