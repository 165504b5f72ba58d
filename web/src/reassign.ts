// Reassigning by hand: the teams to choose from and the reassignment itself, through the
// board's one `call`; which of the teams the panel shows, and why a greyed one cannot go.
import { ApiError, type IncidentDetail, call } from "./api";
import { t } from "./i18n";

export interface Candidate {
  rank: number | null; // 1 for the eligible team nearest by travel time; null when ineligible
  team_id: string;
  name: string;
  region: string;
  status: string;
  distance_km: number;
  eta_min: number;
  position: string;
  load: number;
  capacity: number;
  skill: string;
  has_skill: boolean;
  eligible: boolean;
  problem: "unavailable" | "full" | "lacks_skill" | "current_team" | "on_sibling_task" | null;
  why_not: string;
  excluded: string | null;
}

// as the server's rules (models/lifecycle.py): on scene the team is at work
export const REASSIGNABLE = new Set(["queued", "assigned", "acknowledged", "en_route"]);

const path = (id: string, what: string): string => `/incidents/${encodeURIComponent(id)}/${what}`;

export const candidatesOf = (id: string): Promise<Candidate[]> =>
  call("GET", `${path(id, "candidates")}?limit=1000`);

export async function reassignTo(id: string, teamId: string, reason: string): Promise<IncidentDetail> {
  try {
    return await call<IncidentDetail>("POST", path(id, "reassign"), { team_id: teamId, reason });
  } catch (error) {
    throw error instanceof ApiError ? new ApiError(error.status, refusal(error)) : error;
  }
}

/** What a refusal says: a 409's sentence, or each problem a 422 lists. */
function refusal(error: ApiError): string {
  const detail = error.body?.detail;
  if (!Array.isArray(detail)) return error.message;
  const said = detail.map((p) => String((p as { msg?: unknown }).msg ?? "")).filter(Boolean);
  return said.length ? said.join("; ") : t("reassignUnfit");
}

/** The nearest `shown` eligible teams, then the teams that cannot go but are no farther than
 * the last of them (the ones a dispatcher would ask about), the team that has it among them. */
export function shortList(all: Candidate[], shown = 10): Candidate[] {
  const eligible = all.filter((c) => c.eligible).slice(0, shown);
  const reach = eligible.length ? eligible[eligible.length - 1].distance_km : Infinity;
  const greyed = all.filter((c) => !c.eligible && c.distance_km <= reach).slice(0, shown);
  const current = all.find((c) => c.problem === "current_team");
  if (current && !greyed.includes(current)) greyed.unshift(current);
  return [...eligible, ...greyed];
}

/** Why a team cannot go, in the board's language; for one that can, whether routing passed
 * it over before. */
export function whyNot(c: Candidate): string {
  switch (c.problem) {
    case "full":
      return `${t("reassignFull")} ${c.load}/${c.capacity}`;
    case "unavailable":
      return `${t("reassignUnavailable")} (${c.status})`;
    case "lacks_skill":
      return `${t("reassignLacksSkill")} ${c.skill}`;
    case "current_team":
      return t("reassignCurrent");
    case "on_sibling_task":
      return t("reassignSibling");
    default:
      return c.excluded ? `${t("reassignExcluded")}: ${c.excluded}` : "";
  }
}
