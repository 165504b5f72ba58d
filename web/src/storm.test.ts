import { describe, expect, it } from "vitest";
import { locale } from "./i18n";
import {
  type AlertsBoard, type DutyBoard, type LoggedAlert, type StormView, type TeamDuty,
  activeStorms, both, declareReason, declaredBy, divisionBoth, divisionName, dutyByDivision, nextChangeAt, openProposals,
} from "./storm";

function storm(division: string, extra: Partial<StormView> = {}): StormView {
  return {
    division, active: true, reason: "暴雨红色预警", source: "dispatcher", declared_by: "zhang.wei",
    declared_at: "2026-07-01T02:00:00Z", ended_by: null, ended_at: null, policy: {}, reserves: [], ...extra,
  };
}

function proposal(seq: number, division: string, change = "declare", reason = "暴雨橙色预警"): LoggedAlert {
  return {
    seq, type: "storm.proposed", occurred_at: "2026-07-01T01:00:00Z",
    payload: { division, change, reason, event: "暴雨", severity: "Severe", identifier: `cap-${seq}`, proposed_at: "2026-07-01T01:00:00Z" },
  };
}

function team(id: string, region: string, extra: Partial<TeamDuty> = {}): TeamDuty {
  return { team_id: id, name: `Team ${id}`, region, reserve: false, rostered: false, on_duty: true, current: null, next: null, ...extra };
}

describe("the storm banner", () => {
  it("shows only the divisions in storm mode, the longest in it first", () => {
    const shown = activeStorms([
      storm("yichang", { declared_at: "2026-07-01T03:00:00Z" }),
      storm("wuhan", { active: false }),
      storm("jingzhou", { declared_at: "2026-07-01T02:00:00Z" }),
    ]);
    expect(shown.map((s) => s.division)).toEqual(["jingzhou", "yichang"]);
  });

  it("names the division in both languages and says who or which alert declared it", () => {
    expect(divisionBoth("jingzhou")).toBe("荆州市 Jingzhou");
    expect(divisionBoth("nowhere")).toBe("nowhere");
    locale.value = "en";
    expect(divisionName("jingzhou")).toBe("Jingzhou");
    locale.value = "zh-CN";
    expect(divisionName("jingzhou")).toBe("荆州市");
    expect(declaredBy(storm("jingzhou"))).toBe("zhang.wei");
    expect(declaredBy(storm("jingzhou", { source: "alert:CN-HB-2026-0701", declared_by: "cap-feed" }))).toBe("CN-HB-2026-0701 (cap-feed)");
    expect(both("stormDeclare")).toBe("启动 Declare");
  });
});

describe("the proposals waiting for a dispatcher", () => {
  it("keeps the newest per division and change and drops the settled ones", () => {
    const board: AlertsBoard = {
      alerts: [],
      proposals: [proposal(3, "jingzhou", "declare", "newer"), proposal(1, "jingzhou"), proposal(2, "yichang"), proposal(4, "xiaogan", "end")],
      storms_on: ["yichang"],
    };
    const open = openProposals(board);
    // yichang is already in storm mode; xiaogan is not, so ending it is settled too
    expect(open.map((p) => [p.division, p.change, p.reason])).toEqual([["jingzhou", "declare", "newer"]]);
  });

  it("proposes an end where storm mode is still on", () => {
    const open = openProposals({ alerts: [], proposals: [proposal(5, "wuhan", "end")], storms_on: ["wuhan"] });
    expect(open.map((p) => p.change)).toEqual(["end"]);
  });

  it("declares with the alert's own reason, within the API's 500 characters", () => {
    const [p] = openProposals({ alerts: [], proposals: [proposal(1, "jingzhou", "declare", "x".repeat(900))], storms_on: [] });
    expect(declareReason(p)).toHaveLength(500);
    const [bare] = openProposals({ alerts: [], proposals: [proposal(2, "jingzhou", "declare", "")], storms_on: [] });
    expect(declareReason(bare)).toBe("暴雨 cap-2");
  });
});

describe("the duty panel", () => {
  it("groups teams by division with the next shift changes, soonest first", () => {
    const board: DutyBoard = {
      at: "2026-07-01T02:00:00Z", on_duty: 3, off_duty: 1,
      teams: [
        team("a", "wuhan", { rostered: true, current: { starts_at: "2026-07-01T00:00:00Z", ends_at: "2026-07-01T08:00:00Z" } }),
        team("b", "wuhan", { rostered: true, on_duty: false, next: { starts_at: "2026-07-01T04:00:00Z", ends_at: "2026-07-01T12:00:00Z" } }),
        team("c", "wuhan"), // no roster: always on duty, no change to show
        team("d", "jingzhou", { reserve: true }),
      ],
    };
    const [jingzhou, wuhan] = dutyByDivision(board);
    expect(jingzhou.division).toBe("jingzhou");
    expect(wuhan.onDuty.map((t) => t.team_id)).toEqual(["a", "c"]);
    expect(wuhan.offDuty).toBe(1);
    expect(wuhan.changes.map((c) => [c.team_id, c.change])).toEqual([["b", "on"], ["a", "off"]]);
    expect(dutyByDivision(board, 1)[1].changes).toHaveLength(1);
    expect(nextChangeAt(board)).toBe("2026-07-01T04:00:00Z"); // b comes on before a goes off
    expect(nextChangeAt({ ...board, teams: [team("c", "wuhan")] })).toBeNull();
  });
});
