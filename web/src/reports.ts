// The reports screen's data: the SLA report (the figures of `everycall sla report`) and the
// teams' work ledger, with the small pure steps the charts and tables share.
import { call } from "./api";

export interface SlaLine {
  name: string;
  received: number;
  answered: number;
  unanswered: number;
  missed: number;
  declined: number;
  escalations: number;
  ack_min_median: number | null;
  ack_min_p90: number | null;
  arrive_min_median: number | null;
  arrive_min_p90: number | null;
  sla_compliance: number | null;
}

export interface OverTimePoint {
  start: string;
  decided: number;
  all: number | null;
  acknowledge: number | null;
  arrive: number | null;
  resolve: number | null;
}

export interface SlaReport {
  target: number;
  at: string;
  totals: SlaLine;
  regions: SlaLine[];
  teams: SlaLine[];
  over_time: OverTimePoint[];
}

export type Outcome = "resolved" | "declined" | "withdrawn" | "reassigned" | "cancelled" | "open";

export interface LedgerRow {
  team_id: string;
  team_name: string;
  incident_id: string;
  kind: string;
  priority: string;
  region: string;
  address: string;
  assigned_at: string;
  acknowledged_at: string | null;
  arrived_at: string | null;
  resolved_at: string | null;
  ended_at: string | null;
  ack_minutes: number | null;
  arrive_minutes: number | null;
  resolve_minutes: number | null;
  outcome: Outcome;
  reason: string;
  sla: "met" | "breached" | "pending";
}

export interface TeamSummary {
  team_id: string;
  team_name: string;
  tasks: number;
  resolved: number;
  declined: number;
  withdrawn: number;
  reassigned: number;
  cancelled: number;
  open: number;
  sla_compliance: number | null;
  ack_min_mean: number | null;
  arrive_min_mean: number | null;
  resolve_min_mean: number | null;
}

export interface Ledger {
  month: string;
  team_id: string | null;
  rows: LedgerRow[];
  summary: TeamSummary[];
}

export type LedgerFormat = "json" | "csv" | "xlsx";

export function ledgerPath(month: string, teamId: string, format: LedgerFormat): string {
  const query = new URLSearchParams({ month });
  if (teamId) query.set("team_id", teamId);
  if (format !== "json") query.set("format", format);
  return `/reports/ledger?${query}`;
}

export const slaReport = (): Promise<SlaReport> => call("GET", "/reports/sla");
export const ledger = (month: string, teamId = ""): Promise<Ledger> =>
  call("GET", ledgerPath(month, teamId, "json"));

/** Lines that have a compliance figure, lowest first (ties by name): the charts' order. */
export function worstFirst(lines: SlaLine[]): SlaLine[] {
  return lines
    .filter((line) => line.sla_compliance !== null)
    .sort((a, b) => (a.sla_compliance ?? 0) - (b.sla_compliance ?? 0) || a.name.localeCompare(b.name));
}

/** The month a moment falls in, in Asia/Shanghai: YYYY-MM. */
export function shanghaiMonth(moment: Date): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit" })
    .formatToParts(moment);
  const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}`;
}

/** A date and time in Asia/Shanghai, as the ledger shows it: 2026-12-01 09:30. */
export function shanghaiDateTime(iso: string | null): string {
  if (!iso) return "–";
  const text = new Intl.DateTimeFormat("sv-SE", {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).format(new Date(iso));
  return text.replace("T", " ");
}

export function percent(value: number | null): string {
  return value === null ? "–" : `${(value * 100).toFixed(1)}%`;
}

export function figure(value: number | null): string {
  return value === null ? "–" : String(value);
}
