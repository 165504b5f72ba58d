import { describe, expect, it } from "vitest";
import type { TimelineEntry } from "./api";
import { dispatcherNotes, distanceKm, expectedState, leavingMessage, nextSteps, tapKey, verdictOf } from "./crew";
import { keyBytes } from "./crewPush";
import { navLinks, toGcj02 } from "./navLinks";
import { type Answer, MemoryTaps, type Tap, flushTaps } from "./tapQueue";

describe("a task's moves on the phone", () => {
  it("offers the moves the state allows, as the server's lifecycle does", () => {
    expect(nextSteps("assigned")).toEqual(["ack", "decline"]);
    expect(nextSteps("acknowledged")).toEqual(["en-route", "on-scene", "decline"]);
    expect(nextSteps("on_scene")).toEqual(["resolve"]);
    expect(nextSteps("resolved")).toEqual([]);
  });

  it("counts the queued taps in order, and a tap the state refuses moves nothing", () => {
    expect(expectedState("acknowledged", ["en-route", "on-scene"])).toBe("on_scene");
    expect(expectedState("assigned", ["en-route"])).toBe("assigned");
    expect(expectedState("assigned", ["ack", "decline"])).toBe("queued");
  });
});

describe("where and what", () => {
  it("measures the distance from the phone's last position", () => {
    const wuhan = { latitude: 30.5928, longitude: 114.3055 };
    const yichang = { latitude: 30.6919, longitude: 111.2865 };
    expect(distanceKm(wuhan, yichang)).toBeGreaterThan(285);
    expect(distanceKm(wuhan, yichang)).toBeLessThan(295);
    expect(distanceKm(null, yichang)).toBeNull();
  });

  it("keeps what the dispatch center noted and leaves out the crew's own moves", () => {
    const entry = (type: string, details: Record<string, unknown>): TimelineEntry => ({ seq: 1, at: "2026-07-01T00:00:00Z", type, actor: "user:zhang.wei", details });
    const notes = dispatcherNotes([
      entry("incident.reported", { address: "中北路1号", note: "老人独居，先打电话" }),
      entry("task.declined", { reason: "truck broken" }),
      entry("incident.reassigned", { reason: "离得更近" }),
      entry("incident.reprioritized", { old_priority: "normal", new_priority: "critical" }),
    ]);
    expect(notes.map((n) => n.text)).toEqual(["老人独居，先打电话", "离得更近", "normal → critical"]);
  });
});

describe("what the crew is told", () => {
  it("drops a tap on a withdrawn or cancelled task with the withdrawn message", () => {
    expect(verdictOf(409, { detail: "no longer team a's", withdrawn: true })).toMatchObject({ kind: "dropped", message: "crewWithdrawn" });
    expect(verdictOf(409, { detail: "it is cancelled", current_state: "cancelled" })).toMatchObject({ message: "crewWithdrawn" });
    expect(verdictOf(409, { current_state: "resolved" })).toMatchObject({ message: "crewAlreadyDone" });
    expect(verdictOf(409, { current_state: "on_scene" })).toMatchObject({ message: "crewStateChanged" });
    expect(verdictOf(404, { detail: "no task" })).toMatchObject({ message: "crewWithdrawn" });
  });

  it("keeps a tap for later when there is no network or the server is away", () => {
    expect(verdictOf(null).kind).toBe("retry");
    expect(verdictOf(503).kind).toBe("retry");
    expect(verdictOf(401).kind).toBe("signIn");
    expect(verdictOf(403, { detail: "missing or wrong X-CSRF-Token" }).kind).toBe("csrf");
    expect(verdictOf(200).kind).toBe("applied");
    expect(verdictOf(422, { detail: [{ msg: "x" }] })).toMatchObject({ kind: "dropped", message: "crewRefused" });
  });

  it("says why a task left the team", () => {
    const event = (type: string, payload: Record<string, unknown>) => ({ type, occurred_at: "", payload });
    expect(leavingMessage(event("incident.cancelled", { incident_id: "i" }), "t1")).toBe("crewCancelledNow");
    expect(leavingMessage(event("task.reassigned", { from_team_id: "t1" }), "t1")).toBe("crewTimedOutNow");
    expect(leavingMessage(event("incident.reassigned", { from_team_id: "t1", to_team_id: "t2" }), "t1")).toBe("crewReassignedNow");
    expect(leavingMessage(event("incident.reassigned", { from_team_id: "t0", to_team_id: "t1" }), "t1")).toBeNull();
    expect(leavingMessage(event("task.acknowledged", { team_id: "t1" }), "t1")).toBeNull();
  });

  it("makes a new key for every tap", () => {
    const keys = new Set(Array.from({ length: 100 }, tapKey));
    expect(keys.size).toBe(100);
    for (const key of keys) expect(key).toMatch(/^tap-[0-9a-f]{32}$/);
  });
});

describe("the queue of taps", () => {
  const tap = (incidentId: string, step: Tap["step"], username = "crew.1"): Tap => ({
    key: tapKey(), username, incidentId, step, text: "", madeAt: "2026-07-01T00:00:00Z",
  });

  it("sends the taps in order and keeps those after one that must wait", async () => {
    const store = new MemoryTaps();
    for (const t of [tap("a", "en-route"), tap("a", "on-scene"), tap("b", "ack")]) await store.add(t);
    const sent: string[] = [];
    const answers: Answer[] = [{ status: 200, body: { id: "a" } }, { status: null, body: {} }];
    const done = await flushTaps(store, "crew.1", async (t) => (sent.push(`${t.incidentId}:${t.step}`), answers.shift()!));
    expect(sent).toEqual(["a:en-route", "a:on-scene"]);
    expect(done.stopped).toBe("retry");
    expect((await store.all()).map((t) => t.step)).toEqual(["on-scene", "ack"]);
  });

  it("drops a refused tap and the later taps on that task, and tells of them once", async () => {
    const store = new MemoryTaps();
    for (const t of [tap("b", "en-route"), tap("a", "ack"), tap("b", "on-scene")]) await store.add(t);
    const done = await flushTaps(store, "crew.1", async (t) =>
      t.incidentId === "b" ? { status: 409, body: { detail: "withdrawn", withdrawn: true } } : { status: 200, body: { id: "a" } },
    );
    expect(done.dropped).toEqual([{ incidentId: "b", steps: ["en-route", "on-scene"], message: "crewWithdrawn", detail: "withdrawn" }]);
    expect(done.applied).toEqual([{ id: "a" }]);
    expect(await store.all()).toEqual([]);
  });

  it("sends only the signed-in person's taps", async () => {
    const store = new MemoryTaps();
    await store.add(tap("a", "ack", "crew.2"));
    const done = await flushTaps(store, "crew.1", async () => ({ status: 200, body: {} }));
    expect(done.applied).toEqual([]);
    expect(await store.all()).toHaveLength(1);
  });
});

describe("navigation links", () => {
  it("converts WGS84 to GCJ-02 as China's map apps expect, and leaves points abroad alone", () => {
    const shanghai = toGcj02({ latitude: 31.1774276, longitude: 121.5272106 });
    expect(shanghai.latitude).toBeCloseTo(31.175304, 6);
    expect(shanghai.longitude).toBeCloseTo(121.531542, 6);
    expect(toGcj02({ latitude: 48.8566, longitude: 2.3522 })).toEqual({ latitude: 48.8566, longitude: 2.3522 });
  });

  it("gives a geo: URI in WGS84 and each map app's scheme in GCJ-02", () => {
    const links = navLinks({ latitude: 30.5928, longitude: 114.3055 }, "中北路1号");
    const [geo, amap, baidu, tencent] = links.map((l) => l.href);
    expect(geo).toBe(`geo:30.592800,114.305500?q=30.592800,114.305500(${encodeURIComponent("中北路1号")})`);
    expect(amap).toMatch(/^amapuri:\/\/route\/plan\/\?sourceApplication=everycall&dlat=30\.59\d+&dlon=114\.31\d+&dname=.+&dev=0&t=0$/);
    expect(baidu).toMatch(/^baidumap:\/\/map\/direction\?destination=latlng:30\.59\d+,114\.31\d+\|name:.+&coord_type=gcj02&mode=driving/);
    expect(tencent).toMatch(/^qqmap:\/\/map\/routeplan\?type=drive&to=.+&tocoord=30\.59\d+,114\.31\d+&referer=everycall$/);
    expect(links.map((l) => l.label)).toEqual(["crewNavGeo", "crewNavAmap", "crewNavBaidu", "crewNavTencent"]);
  });
});

describe("push", () => {
  it("reads the VAPID key from base64url", () => {
    expect(Array.from(keyBytes("AQID_-8"))).toEqual([1, 2, 3, 255, 239]);
  });
});
