import { describe, expect, it } from "vitest";
import type { Incident } from "./api";
import { applyEvent, countdown } from "./board";
import { locale } from "./i18n";
import { type Candidate, REASSIGNABLE, shortList, whyNot } from "./reassign";

function team(id: string, km: number, problem: Candidate["problem"] = null, extra: Partial<Candidate> = {}): Candidate {
  return {
    rank: null, team_id: id, name: `Team ${id}`, region: "wuhan", status: "available", distance_km: km,
    eta_min: km * 2, position: "home", load: 1, capacity: 3, skill: "repair", has_skill: problem !== "lacks_skill",
    eligible: problem === null, problem, why_not: "", excluded: null, ...extra,
  };
}

describe("the teams the reassign panel shows", () => {
  const all = [
    team("e1", 2), team("e2", 4), team("e3", 9),
    team("now", 0.5, "current_team"), team("full", 3, "full"), team("off", 30, "unavailable"),
  ];

  it("shows the nearest eligible, then the greyed teams no farther than the last of them", () => {
    expect(shortList(all, 2).map((c) => c.team_id)).toEqual(["e1", "e2", "now", "full"]);
    expect(shortList(all, 10).map((c) => c.team_id)).toEqual(["e1", "e2", "e3", "now", "full"]);
  });

  it("keeps the team that has the incident even when it is far, and greys all when none can go", () => {
    const far = [team("e1", 1), team("now", 50, "current_team")];
    expect(shortList(far, 5).map((c) => c.team_id)).toEqual(["e1", "now"]);
    const none = [team("full", 3, "full"), team("off", 30, "unavailable")];
    expect(shortList(none).map((c) => c.team_id)).toEqual(["full", "off"]);
  });

  it("says why a greyed team cannot go, in the board's language", () => {
    locale.value = "en";
    expect(whyNot(team("full", 3, "full", { load: 3 }))).toBe("full 3/3");
    expect(whyNot(team("x", 3, "lacks_skill"))).toBe("lacks the skill repair");
    expect(whyNot(team("off", 3, "unavailable", { status: "off_duty" }))).toBe("not available (off_duty)");
    expect(whyNot(team("e", 3, null, { excluded: "declined: flood" }))).toBe("passed over before: declined: flood");
    expect(whyNot(team("e", 3))).toBe("");
    locale.value = "zh-CN";
    expect(whyNot(team("now", 0, "current_team"))).toBe("正承担此工单");
  });

  it("offers reassigning only where the server allows it", () => {
    expect([...REASSIGNABLE].sort()).toEqual(["acknowledged", "assigned", "en_route", "queued"]);
  });
});

describe("a reassignment on the board's live fold", () => {
  const clock = (attempt: number, state: string, deadline: string, closed_at: string | null = null) => ({
    kind: "acknowledge", attempt, state, started_at: "2026-07-01T00:00:00Z", deadline, closed_at,
  });

  it("shows the chosen team and counts down its clock, not the stopped one", () => {
    const incidents = new Map<string, Incident>();
    const on = (type: string, payload: Record<string, unknown>) =>
      applyEvent(incidents, { type, occurred_at: "", payload: { incident_id: "inc-1", ...payload } });
    applyEvent(incidents, {
      type: "incident.reported", occurred_at: "",
      payload: { id: "inc-1", kind: "repair", latitude: 30.6, longitude: 114.3, reported_at: "2026-07-01T00:00:00Z" },
    });
    on("team.assigned", { team_id: "old" });
    on("sla.clocks_started", { state: "assigned", clocks: [clock(1, "running", "2026-07-01T00:05:00Z")] });
    on("incident.reassigned", {
      state: "queued", from_team_id: "old", to_team_id: "new",
      clocks: [clock(1, "stopped", "2026-07-01T00:05:00Z", "2026-07-01T00:02:00Z")],
    });
    on("team.assigned", { team_id: "new" });
    on("sla.clocks_started", { state: "assigned", clocks: [clock(2, "running", "2026-07-01T00:07:00Z")] });
    const shown = incidents.get("inc-1") as Incident;
    expect([shown.state, shown.team_id]).toEqual(["assigned", "new"]);
    const left = countdown(shown, new Date("2026-07-01T00:03:00Z"));
    expect(left?.remainingS).toBe(240); // attempt 2's deadline, 00:07
  });
});
