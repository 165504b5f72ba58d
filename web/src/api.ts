// The board's calls to everycall's API: the session cookie travels by itself; every change
// carries the session's CSRF token.
import type { OpenBoard } from "./board";
import type { AlertsBoard, DutyBoard, StormView } from "./storm";

export interface Person {
  username: string;
  display_name: string;
  role: "dispatcher" | "auditor" | "admin" | "team";
  team_id: string | null;
  csrf_token: string;
}

export interface Clock {
  kind: string;
  attempt: number;
  state: string; // running | paused | met | breached | stopped
  started_at: string;
  deadline: string;
  closed_at?: string | null;
}

export interface Incident {
  id: string;
  kind: string;
  priority: string;
  region: string;
  address: string;
  state: string;
  team_id: string | null;
  reported_at: string;
  latitude: number;
  longitude: number;
  master_id?: string | null;
  lead_id?: string | null; // a support task's lead incident (支援任务 of 牵头工单)
  clocks: Clock[];
  eta_on_site?: string | null; // estimated: a team on site (UTC); null when none could go
  ert?: string | null; // estimated: power back (outages only)
}

export interface TimelineEntry {
  seq: number;
  at: string;
  type: string;
  actor: string;
  details: Record<string, unknown>;
}

// one task of an incident that several teams answer: the lead's or a support's
export interface GroupTask {
  incident_id: string;
  lead: boolean;
  team_id: string | null;
  state: string;
}

export interface IncidentDetail extends Incident {
  escalated: boolean;
  group: GroupTask[]; // every task of the incident, lead first; empty when it is one task
  notified_at?: string | null; // the team holding it first told (a push or a text delivered)
  seen_at?: string | null; // and when its crew's phone showed it
  timeline: TimelineEntry[];
  explanation: Record<string, unknown>[]; // the decision first, then the ranked short list
}

export interface Waiting {
  id: string;
  kind: string;
  priority: string;
  region: string;
  state: string;
  reported_at: string;
  waiting_min: number;
  escalated: boolean;
  eta_on_site?: string | null;
  ert?: string | null;
}

export interface TeamMark {
  id: string;
  name: string;
  region: string;
  latitude: number;
  longitude: number;
  located_at: string | null;
  status: string;
  reserve: boolean;
  active_tasks: number;
  capacity: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {}, // the whole answer, e.g. a 409's current_state
  ) {
    super(message);
  }
}

let csrf = "";

// FastAPI's 422 detail is a list of problems, each naming its field: read as one line
export function detailText(detail: unknown): string {
  if (!Array.isArray(detail)) return String(detail);
  return detail
    .map((problem: { loc?: unknown[]; msg?: string }) => {
      const field = problem.loc?.length ? String(problem.loc[problem.loc.length - 1]) : "";
      return field ? `${field}: ${problem.msg ?? ""}` : String(problem.msg ?? problem);
    })
    .join("; ");
}

export async function call<T>(
  method: string,
  path: string,
  body?: unknown,
  extra: Record<string, string> = {}, // e.g. a crew tap's Idempotency-Key
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  const answer = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!answer.ok) {
    const detail = await answer.json().catch(() => ({ detail: answer.statusText }));
    throw new ApiError(answer.status, detailText(detail.detail ?? answer.statusText), detail);
  }
  return answer.status === 204 ? (undefined as T) : ((await answer.json()) as T);
}

export async function whoAmI(): Promise<Person | null> {
  try {
    const person = await call<Person>("GET", "/session");
    csrf = person.csrf_token;
    return person;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export async function signIn(username: string, password: string): Promise<Person> {
  const person = await call<Person>("POST", "/session", { username, password });
  csrf = person.csrf_token;
  return person;
}

export const signOut = (): Promise<void> => call("DELETE", "/session");
export const openBoard = (): Promise<OpenBoard> => call("GET", "/board/open");
export const incident = (id: string): Promise<IncidentDetail> =>
  call("GET", `/incidents/${encodeURIComponent(id)}`);
export const cancel = (id: string, reason: string): Promise<IncidentDetail> =>
  call("POST", `/incidents/${encodeURIComponent(id)}/cancel`, { reason });
export const changePriority = (id: string, priority: string): Promise<IncidentDetail> =>
  call("POST", `/incidents/${encodeURIComponent(id)}/priority`, { priority });
export const unlink = (id: string): Promise<IncidentDetail> =>
  call("POST", `/incidents/${encodeURIComponent(id)}/unlink`);
export const raiseLevel = (id: string, reason: string): Promise<IncidentDetail> =>
  call("POST", `/incidents/${encodeURIComponent(id)}/raise-level`, { reason });
export const teams = (): Promise<TeamMark[]> => call("GET", "/teams");
export const queue = (): Promise<Waiting[]> => call("GET", "/queue");
export const report = (fields: Record<string, unknown>): Promise<{ id: string }> =>
  call("POST", "/incidents", fields);
// storm mode, the weather alerts' proposals and the duty roster (storm.ts reads them)
export const storms = (): Promise<StormView[]> => call("GET", "/storm");
export const alertsBoard = (): Promise<AlertsBoard> => call("GET", "/alerts");
export const rosterNow = (): Promise<DutyBoard> => call("GET", "/roster/now");
export const declareStorm = (division: string, reason: string): Promise<StormView> =>
  call("POST", `/storm/${encodeURIComponent(division)}`, { reason });
