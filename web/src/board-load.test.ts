import { describe, expect, it, vi } from "vitest";
import type { Incident } from "./api";
import { type Envelope, LiveFeed, MAP_MARKS, applyEvent, fromOpenBoard, mapMarks } from "./board";

const answer = {
  seq: 41,
  incident_fields: ["id", "kind", "priority", "region", "address", "state", "team_id", "reported_at", "latitude", "longitude", "master_id", "clocks"],
  clock_fields: ["kind", "attempt", "state", "started_at", "deadline"],
  incidents: [
    ["inc-1", "repair", "normal", "wuhan", "中北路1号", "assigned", "t1", "2026-07-01T00:00:00.000000Z", 30.6, 114.3, null,
      [["acknowledge", 1, "running", "2026-07-01T00:00:01.000000Z", "2026-07-01T00:05:01.000000Z"]]],
    ["inc-2", "repair", "normal", "wuhan", "", "merged", null, "2026-07-01T00:01:00.000000Z", 30.6, 114.3, "inc-1", []],
  ],
};

function incident(id: string, latitude: number, longitude: number, state = "assigned", priority = "normal"): Incident {
  return { id, kind: "repair", priority, region: "wuhan", address: "", state, team_id: null, reported_at: `2026-07-01T00:00:${id.slice(-2)}Z`, latitude, longitude, clocks: [] };
}

describe("the first read of every open incident", () => {
  it("turns GET /board/open's rows into the board's incidents, by the field names it sends", () => {
    const [first, duplicate] = fromOpenBoard(answer);
    expect(first).toMatchObject({ id: "inc-1", state: "assigned", team_id: "t1", latitude: 30.6, master_id: null });
    expect(first.clocks).toEqual([
      { kind: "acknowledge", attempt: 1, state: "running", started_at: "2026-07-01T00:00:01.000000Z", deadline: "2026-07-01T00:05:01.000000Z", closed_at: null },
    ]);
    expect(duplicate).toMatchObject({ id: "inc-2", state: "merged", master_id: "inc-1", clocks: [] });
    const reordered = { ...answer, incident_fields: [...answer.incident_fields].reverse(), incidents: answer.incidents.map((r) => [...r].reverse()) };
    expect(fromOpenBoard(reordered)).toEqual(fromOpenBoard(answer));
  });

  it("replaces a changed incident instead of editing it, so a shallow map sees the change", () => {
    const incidents = new Map(fromOpenBoard(answer).map((i) => [i.id, i]));
    const before = incidents.get("inc-1");
    applyEvent(incidents, { type: "task.acknowledged", occurred_at: "", payload: { incident_id: "inc-1", state: "acknowledged" } });
    expect(incidents.get("inc-1")?.state).toBe("acknowledged");
    expect(before?.state).toBe("assigned");
  });
});

describe("the live feed", () => {
  const event = (id: string): Envelope => ({ type: "incident.reported", occurred_at: "", payload: { id } });

  it("holds events until the first read, drops those it already shows, then applies in batches", () => {
    vi.useFakeTimers();
    const applied: string[][] = [];
    const feed = new LiveFeed((events) => applied.push(events.map((e) => String(e.payload.id))), 100);
    feed.push(40, event("in the read"));
    feed.push(42, event("after the read"));
    expect(applied).toEqual([]);
    feed.loaded(41);
    expect(applied).toEqual([["after the read"]]);
    feed.push(41, event("late copy of the read")); // a stream frame the read already held
    feed.push(43, event("a"));
    feed.push(44, event("b"));
    expect(applied).toHaveLength(1);
    vi.advanceTimersByTime(100);
    expect(applied).toEqual([["after the read"], ["a", "b"]]);
    vi.useRealTimers();
  });
});

describe("the map's marks", () => {
  it("draws every incident, with its storm group, while there are few", () => {
    const open = [incident("i-01", 30.6, 114.3), incident("i-02", 30.6001, 114.3001)];
    const groups = new Map([["i-01", 3]]);
    expect(mapMarks(open, groups, null)).toEqual({ incidents: open, grouped: groups });
  });

  it("draws a cell's most urgent incident with the count of its reports once there are many", () => {
    const many = Array.from({ length: MAP_MARKS }, (_, n) => incident(`a-${String(n).padStart(4, "0")}`, 30.61, 114.31));
    const waiting = incident("w-99", 30.62, 114.32, "queued");
    const far = incident("f-01", 31.5, 112.1);
    const drawn = mapMarks([...many, waiting, far], new Map([["a-0007", 4]]), "a-0003");
    const ids = drawn.incidents.map((i) => i.id);
    expect(ids).toEqual(["w-99", "f-01", "a-0003"]); // the chosen one on its own, drawn last
    // 1,999 others (one is chosen), a-0007's 4 duplicates and w-99 itself: all but one beside it
    expect(drawn.grouped.get("w-99")).toBe(MAP_MARKS - 1 + 4 + 1 - 1);
    expect(drawn.grouped.has("f-01")).toBe(false);
  });
});
