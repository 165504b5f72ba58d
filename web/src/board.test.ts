import { describe, expect, it } from "vitest";
import type { Incident } from "./api";
import { applyEvent, openOnes } from "./board";
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
