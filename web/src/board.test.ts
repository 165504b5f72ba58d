import { describe, expect, it } from "vitest";
import { type Incident, detailText } from "./api";
import type { TeamMark } from "./api";
import { applyEvent, applyToTeams, clockText, countdown, groupSizes, loadLevel, matches, openOnes } from "./board";
import { allMessages, waitedMinutes } from "./i18n";

const reported = {
  type: "incident.reported",
  occurred_at: "2026-07-01T00:00:00Z",
  payload: { id: "inc-1", kind: "repair", latitude: 30.6, longitude: 114.3, reported_at: "2026-07-01T00:00:00Z" },
};

describe("the board's fold of the live stream", () => {
  it("adds a report, assigns it, and drops it from the open list once resolved", () => {
    const incidents = new Map<string, Incident>();
    expect(applyEvent(incidents, reported)).toBe("inc-1");
    applyEvent(incidents, { type: "team.assigned", occurred_at: "", payload: { incident_id: "inc-1", team_id: "t1" } });
    expect(incidents.get("inc-1")?.team_id).toBe("t1");
    expect(openOnes(incidents).map((i) => i.state)).toEqual(["assigned"]);
    applyEvent(incidents, { type: "task.resolved", occurred_at: "", payload: { incident_id: "inc-1", state: "resolved" } });
    expect(openOnes(incidents)).toEqual([]);
  });

  it("ignores an event about an incident it never saw", () => {
    const incidents = new Map<string, Incident>();
    const changed = applyEvent(incidents, { type: "task.acknowledged", occurred_at: "", payload: { incident_id: "x", state: "acknowledged" } });
    expect(changed).toBeNull();
    expect(incidents.size).toBe(0);
  });
});

describe("labels", () => {
  it("has every label in both languages", () => {
    expect(Object.keys(allMessages.en).sort()).toEqual(Object.keys(allMessages["zh-CN"]).sort());
    for (const text of Object.values(allMessages["zh-CN"])) expect(text.length).toBeGreaterThan(0);
  });

  it("counts waiting minutes down to the minute, never below zero", () => {
    const now = new Date("2026-07-01T00:10:30Z");
    expect(waitedMinutes("2026-07-01T00:00:00Z", now)).toBe(10);
    expect(waitedMinutes("2026-07-01T00:20:00Z", now)).toBe(0);
  });
});

describe("SLA countdowns", () => {
  const clock = (state: string, deadline: string) => ({
    kind: "acknowledge", attempt: 1, state, started_at: "2026-07-01T00:00:00Z", deadline, closed_at: null,
  });
  const withClock = (state: string): Incident => {
    const incidents = new Map<string, Incident>();
    applyEvent(incidents, reported);
    applyEvent(incidents, {
      type: "sla.clocks_started", occurred_at: "",
      payload: { incident_id: "inc-1", state: "assigned", clocks: [clock(state, "2026-07-01T00:10:00Z")] },
    });
    return incidents.get("inc-1") as Incident;
  };

  it("warns at half and three quarters of the target and turns breached at the deadline", () => {
    const incident = withClock("running");
    const at = (m: number) => countdown(incident, new Date(Date.UTC(2026, 6, 1, 0, m)));
    expect(at(4)?.level).toBe("ok");
    expect(at(5)?.level).toBe("warn50");
    expect(at(8)?.level).toBe("warn75");
    expect(at(11)?.level).toBe("breached");
    expect(at(11)?.remainingS).toBe(-60);
  });

  it("follows the watchdog's breach and shows time past the deadline", () => {
    expect(countdown(withClock("breached"), new Date("2026-07-01T00:01:00Z"))?.level).toBe("breached");
    expect(clockText(-190)).toBe("-3:10");
    expect(clockText(754)).toBe("12:34");
  });
});

describe("storm groups", () => {
  it("counts the duplicates merged into a master, and forgets one that is unlinked", () => {
    const incidents = new Map<string, Incident>();
    applyEvent(incidents, reported);
    const duplicate = { ...reported, payload: { ...reported.payload, id: "inc-2" } };
    applyEvent(incidents, duplicate);
    applyEvent(incidents, { type: "incident.merged", occurred_at: "", payload: { incident_id: "inc-2", master_id: "inc-1", state: "merged" } });
    expect(groupSizes(incidents).get("inc-1")).toBe(1);
    applyEvent(incidents, { type: "incident.unlinked", occurred_at: "", payload: { incident_id: "inc-2", state: "queued" } });
    expect(groupSizes(incidents).size).toBe(0);
  });
});

describe("filters", () => {
  it("lets an incident through only when it matches every filter that is set", () => {
    const incidents = new Map<string, Incident>();
    applyEvent(incidents, { ...reported, payload: { ...reported.payload, region: "wuhan", priority: "critical" } });
    const incident = incidents.get("inc-1") as Incident;
    const none = { region: "", kind: "", priority: "", state: "" };
    expect(matches(incident, none)).toBe(true);
    expect(matches(incident, { ...none, region: "wuhan", priority: "critical" })).toBe(true);
    expect(matches(incident, { ...none, region: "yichang" })).toBe(false);
    expect(matches(incident, { ...none, state: "queued" })).toBe(false);
  });
});

describe("teams on the map", () => {
  const team = (): TeamMark => ({
    id: "t1", name: "光满服务队", region: "wuhan", latitude: 30.6, longitude: 114.3, located_at: null,
    status: "available", reserve: false, active_tasks: 0, capacity: 2,
  });

  it("colours a team by its load and its status", () => {
    expect(loadLevel(team())).toBe("free");
    expect(loadLevel({ ...team(), active_tasks: 1 })).toBe("busy");
    expect(loadLevel({ ...team(), active_tasks: 2 })).toBe("full");
    expect(loadLevel({ ...team(), status: "off_duty" })).toBe("away");
  });

  it("moves a team to its latest fix", () => {
    const teams = new Map([["t1", team()]]);
    applyToTeams(teams, { type: "team.located", occurred_at: "", payload: { team_id: "t1", latitude: 30.7, longitude: 114.4, located_at: "2026-07-01T00:00:00Z" } });
    expect(teams.get("t1")?.latitude).toBe(30.7);
  });
});

describe("an API problem as a person reads it", () => {
  it("names each refused field of a 422 instead of [object Object]", () => {
    const detail = [{ loc: ["body", "latitude"], msg: "Input should be less than 90" }, { msg: "bad" }];
    expect(detailText(detail)).toBe("latitude: Input should be less than 90; bad");
    expect(detailText("队伍已满 team is full")).toBe("队伍已满 team is full");
  });
});

describe("estimates on the board", () => {
  it("shows an estimate on the Shanghai clock with the minutes to it, Chinese first", async () => {
    const { estimateText } = await import("./board");
    const { locale } = await import("./i18n");
    const now = new Date("2026-07-01T00:10:00Z"); // 08:10 in Shanghai
    locale.value = "zh-CN";
    expect(estimateText("2026-07-01T00:52:20Z", now)).toBe("08:52 (42 分钟后)");
    locale.value = "en";
    expect(estimateText("2026-06-30T16:30:00Z", new Date("2026-06-30T16:00:00Z"))).toBe("00:30 (30 min from now)"); // past midnight there
    expect(estimateText("2026-07-01T00:05:00Z", now)).toBe("08:05"); // due: no minutes left to count
    expect(estimateText(null, now)).toBe("—");
    locale.value = "zh-CN";
  });

  it("reads both estimates from the board's first read, and none from an older answer", async () => {
    const { fromOpenBoard } = await import("./board");
    const fields = ["id", "kind", "priority", "region", "address", "state", "team_id", "reported_at", "latitude", "longitude", "master_id", "clocks", "eta_on_site", "ert"];
    const row = ["o1", "outage", "normal", "wuhan", "", "queued", null, "2026-07-01T00:00:00Z", 30.6, 114.3, null, [], "2026-07-01T01:00:00Z", "2026-07-01T03:00:00Z"];
    const [read] = fromOpenBoard({ seq: 1, incident_fields: fields, clock_fields: [], incidents: [row] });
    expect([read.eta_on_site, read.ert]).toEqual(["2026-07-01T01:00:00Z", "2026-07-01T03:00:00Z"]);
    const [older] = fromOpenBoard({ seq: 1, incident_fields: fields.slice(0, 12), clock_fields: [], incidents: [row.slice(0, 12)] });
    expect([older.eta_on_site, older.ert]).toEqual([null, null]);
  });
});

describe("clock times", () => {
  it("reads the Shanghai clock past midnight as 00, not 24, in both languages", async () => {
    const { locale, shanghaiTime } = await import("./i18n");
    for (const language of ["zh-CN", "en"] as const) {
      locale.value = language;
      expect(shanghaiTime("2026-06-30T16:00:05Z")).toBe("00:00:05");
    }
    expect(shanghaiTime("2026-07-01T06:03:12Z")).toBe("14:03:12");
  });
});
