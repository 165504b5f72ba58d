// Several teams for one incident: the tasks its detail lists (牵头 lead, 支援 support), whether a
// dispatcher may raise its level (提级增派, one more team), and what a refusal says.
import { ApiError, type IncidentDetail, raiseLevel } from "./api";
import { stateLabel, t } from "./i18n";

// as the server's rules (models/lifecycle.py OPEN): a closed or merged lead takes no more teams
export const RAISABLE = new Set(["reported", "queued", "assigned", "acknowledged", "en_route", "on_scene"]);

export interface TaskRow {
  id: string;
  role: string; // 牵头 / lead, 支援 / support, in the board's language
  team: string;
  state: string;
  shown: boolean; // the incident whose detail this is
}

/** The incident's tasks as its detail lists them, lead first; none when it is one task. */
export function taskRows(detail: IncidentDetail): TaskRow[] {
  return detail.group.map((task) => ({
    id: task.incident_id,
    role: task.lead ? t("taskLead") : t("taskSupport"),
    team: task.team_id ?? "—",
    state: stateLabel(task.state),
    shown: task.incident_id === detail.id,
  }));
}

/** The state of the incident's lead task, which decides whether the level can be raised. */
export function leadState(detail: IncidentDetail): string {
  return detail.group.find((task) => task.lead)?.state ?? detail.state;
}

export const mayRaise = (detail: IncidentDetail): boolean => RAISABLE.has(leadState(detail));

/** What a refused raise says: the server's own sentence (it is Chinese and English already:
 * at the ceiling, "已达最多 5 支队伍"), after the board's word for it. */
export function raiseRefusal(error: unknown): string {
  if (!(error instanceof ApiError)) return String(error);
  return `${t("raiseRefused")}${error.message}`;
}

export async function raiseLevelOf(id: string, reason: string): Promise<IncidentDetail> {
  try {
    return await raiseLevel(id, reason.trim());
  } catch (error) {
    throw new Error(raiseRefusal(error));
  }
}
