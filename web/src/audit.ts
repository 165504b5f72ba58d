// The auditor's calls: an incident's timeline, the board at a moment (replayed from the log,
// its progress over Server-Sent Events), the chain and a kept digest verified, and where each
// export downloads from (plain links: the session cookie travels, the server names the file).
import { ApiError, call } from "./api";

export interface TimelineStep {
  seq: number;
  at: string;
  type: string;
  version: number;
  actor: string;
  what: string;
  payload: Record<string, unknown>;
  hash: string;
}

export interface IncidentTimeline {
  incident_id: string;
  events: TimelineStep[];
}

export interface OpenIncident {
  id: string;
  state: string;
  priority: string;
  kind: string;
  region: string;
  team_id: string | null;
  address: string;
  escalated: boolean;
  reported_at: string;
}

export interface BusyTeam {
  id: string;
  name: string;
  region: string;
  status: string;
  active_tasks: number;
  capacity: number;
}

export interface RunningClock {
  incident_id: string;
  kind: string;
  attempt: number;
  team_id: string | null;
  started_at: string;
  deadline: string;
}

export interface BoardAtMoment {
  at: string;
  cost: {
    events_replayed: number;
    up_to_seq: number;
    last_event_at: string | null;
    log_entries: number;
    elapsed_ms: number;
    limit: number;
  };
  counts: { open_incidents: number; busy_teams: number; running_clocks: number };
  open_incidents: OpenIncident[];
  busy_teams: BusyTeam[];
  running_clocks: RunningClock[];
}

export interface ChainStatus {
  intact: boolean;
  entries: number;
  head: string | null;
  last_verified: string;
  finding: { seq: number; problem: string } | null;
  detail: string;
}

export interface DigestCheck {
  digest: string;
  matches: boolean;
  seq: number;
  detail: string;
}

export interface VerifyAnswer {
  chain: ChainStatus;
  digest: DigestCheck | null;
  elapsed_ms: number;
}

export interface Progress {
  done: number;
  total: number;
}

const timelinePath = (id: string): string => `/audit/incidents/${encodeURIComponent(id)}/timeline`;

export const timeline = (id: string): Promise<IncidentTimeline> => call("GET", timelinePath(id));
export const timelineExport = (id: string): string => `${timelinePath(id)}/export`;
export const boardExport = (at: string, format: "csv" | "json"): string =>
  `/audit/board/export?${new URLSearchParams({ at, format })}`;
export const LOG_EXPORT = "/audit/log/export";

export const verify = (digest?: string): Promise<VerifyAnswer> =>
  call("GET", digest ? `/audit/verify?${new URLSearchParams({ digest })}` : "/audit/verify");

// China keeps UTC+8 all year (no daylight saving since 1991), so a fixed offset is exact.
const SHANGHAI_OFFSET_MS = 8 * 3600_000;
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/;

/** A datetime-local value, read as wall time in Asia/Shanghai, as ISO 8601 with its offset
 * ("" when it is no time). */
export function shanghaiMoment(local: string): string {
  if (!LOCAL_TIME.test(local)) return "";
  return `${local.length === 16 ? `${local}:00` : local}+08:00`;
}

/** A moment as a datetime-local value in Asia/Shanghai, to the second. */
export function shanghaiLocal(moment: Date): string {
  return new Date(moment.getTime() + SHANGHAI_OFFSET_MS).toISOString().slice(0, 19);
}

/** A stored UTC time as the auditor reads it: date and time in Asia/Shanghai. */
export function shanghaiDateTime(iso: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  }).format(new Date(iso));
}

// the server's rule (dispatch/audit/verify.py Digest.parse): what `everycall audit digest` prints
const DIGEST = /^\d+:[0-9a-f]{64}$/;

/** Whether pasted text has a digest's form, SEQ:HASH; the server decides whether it holds. */
export const isDigest = (text: string): boolean => DIGEST.test(text.trim());

/** Replay the board at `at` (ISO 8601 with offset), hearing its progress. A refusal (422, 429)
 * closes the stream before it starts, without its reason: the plain route is asked for it. */
export function replayBoard(at: string, onProgress: (p: Progress) => void): Promise<BoardAtMoment> {
  const query = new URLSearchParams({ at });
  return new Promise((resolve, reject) => {
    const source = new EventSource(`/audit/board/progress?${query}`, { withCredentials: true });
    let settled = false;
    const settle = (): boolean => {
      const first = !settled;
      settled = true;
      source.close(); // a finished stream must not reconnect and replay again
      return first;
    };
    source.addEventListener("progress", (e) => onProgress(JSON.parse((e as MessageEvent).data) as Progress));
    source.addEventListener("board", (e) => {
      if (settle()) resolve(JSON.parse((e as MessageEvent).data) as BoardAtMoment);
    });
    source.addEventListener("failed", (e) => {
      if (settle()) reject(new ApiError(409, String(JSON.parse((e as MessageEvent).data).detail)));
    });
    source.onerror = () => {
      if (settle()) call<BoardAtMoment>("GET", `/audit/board?${query}`).then(resolve, reject);
    };
  });
}

/** Why a call was refused, for the page: the server's words when it gave some in a sentence. */
export function refusalText(error: unknown): { status: number; said: string } {
  if (error instanceof ApiError) {
    const said = error.message.includes("[object Object]") ? "" : error.message;
    return { status: error.status, said };
  }
  return { status: 0, said: String(error) };
}
