// The crew app's calls to everycall: the team's tasks, each tap (with the Idempotency-Key made
// when it was tapped), the phone's position, duty, push and "seen". The session cookie and the
// CSRF token travel as for the board (api.ts).
import { ApiError, type Incident, type IncidentDetail, call } from "./api";
import type { Answer, Tap } from "./tapQueue";

const path = (value: string): string => encodeURIComponent(value);

export const teamTasks = (teamId: string): Promise<Incident[]> => call("GET", `/teams/${path(teamId)}/tasks`);
export const taskDetail = (id: string): Promise<IncidentDetail> => call("GET", `/incidents/${path(id)}`);

/** One queued tap sent; the answer as the queue judges it (status null: no network). */
export async function sendTap(tap: Tap): Promise<Answer> {
  const body = tap.step === "decline" ? { reason: tap.text } : tap.step === "resolve" ? { notes: tap.text } : undefined;
  try {
    const view = await call<Record<string, unknown>>(
      "POST",
      `/tasks/${path(tap.incidentId)}/${tap.step}`,
      body,
      { "Idempotency-Key": tap.key },
    );
    return { status: 200, body: view };
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, body: error.body };
    return { status: null, body: {} };
  }
}

export interface Fix {
  latitude: number;
  longitude: number;
  accuracy_m: number | null;
  located_at: string;
}

export const shareLocation = (teamId: string, fix: Fix): Promise<{ recorded: boolean }> =>
  call("POST", `/teams/${path(teamId)}/location`, fix);

export const myDuty = (): Promise<{ on_duty: boolean }> => call("GET", "/me/duty");
export const setDuty = (onDuty: boolean): Promise<{ on_duty: boolean }> =>
  call("PUT", "/me/duty", { on_duty: onDuty });

export const pushKey = (): Promise<{ public_key: string }> => call("GET", "/push/key");
export const keepPushSubscription = (subscription: PushSubscriptionJSON): Promise<{ id: string }> =>
  call("POST", "/push/subscriptions", subscription);

export const markSeen = (id: string): Promise<void> => call("POST", `/tasks/${path(id)}/seen`);
