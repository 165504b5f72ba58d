import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, type GroupTask, type Incident, type IncidentDetail } from "./api";
import { applyEvent, fromOpenBoard, openOnes, sameIncident } from "./board";
import { locale } from "./i18n";
import { type Candidate, whyNot } from "./reassign";
import { RAISABLE, leadState, mayRaise, raiseLevelOf, raiseRefusal, taskRows } from "./supportTasks";

const task = (incident_id: string, lead: boolean, team_id: string | null, state: string): GroupTask => ({ incident_id, lead, team_id, state });

function detail(id: string, state: string, group: GroupTask[], lead_id: string | null = null): IncidentDetail {
  return {
    id, kind: "disaster_relief", priority: "critical", region: "wuhan", address: "", state, team_id: null,
    reported_at: "2026-07-01T00:00:00Z", latitude: 30.6, longitude: 114.3, clocks: [], escalated: false,
    timeline: [], explanation: [], group, lead_id,
  };
}

const group = [task("inc-1", true, "t1", "acknowledged"), task("inc-1.1", false, "t2", "assigned"), task("inc-1.2", false, null, "queued")];

afterEach(() => {
  locale.value = "zh-CN";
  vi.unstubAllGlobals();
});

describe("the tasks an incident's detail lists", () => {
  it("lists the lead first, then its supports, in the board's language, marking the one shown", () => {
    const rows = taskRows(detail("inc-1.1", "assigned", group, "inc-1"));
    expect(rows.map((r) => [r.id, r.role, r.team, r.state, r.shown])).toEqual([
      ["inc-1", "牵头", "t1", "已接单", false],
      ["inc-1.1", "支援", "t2", "已派单", true],
      ["inc-1.2", "支援", "—", "排队中", false],
    ]);
    locale.value = "en";
    expect(taskRows(detail("inc-1", "acknowledged", group)).map((r) => r.role)).toEqual(["lead", "support", "support"]);
  });

  it("lists nothing for an incident one team answers", () => {
    expect(taskRows(detail("inc-9", "assigned", []))).toEqual([]);
  });
});

describe("raising the level", () => {
  it("is offered while the lead is open, whichever of its tasks is shown", () => {
    expect(mayRaise(detail("inc-9", "queued", []))).toBe(true); // one task: it is its own lead
    const closedLead = [task("inc-1", true, null, "cancelled"), task("inc-1.1", false, "t2", "assigned")];
    expect(leadState(detail("inc-1.1", "assigned", closedLead, "inc-1"))).toBe("cancelled");
    expect(mayRaise(detail("inc-1.1", "assigned", closedLead, "inc-1"))).toBe(false);
    expect(mayRaise(detail("inc-1.1", "resolved", group, "inc-1"))).toBe(true); // its lead is open
    expect(mayRaise(detail("inc-9", "merged", []))).toBe(false);
    expect([...RAISABLE].sort()).toEqual(["acknowledged", "assigned", "en_route", "on_scene", "queued", "reported"]);
  });

  it("says a refusal with the server's own sentence after the board's word", () => {
    const ceiling = new ApiError(409, "已达最多 5 支队伍 · incident inc-1 has 5 tasks open, the most a level may ask for");
    expect(raiseRefusal(ceiling)).toBe("未能提级增派：已达最多 5 支队伍 · incident inc-1 has 5 tasks open, the most a level may ask for");
    locale.value = "en";
    expect(raiseRefusal(new ApiError(409, "cannot raise the level of incident inc-1: it is resolved"))).toBe(
      "Not raised: cannot raise the level of incident inc-1: it is resolved",
    );
    expect(raiseRefusal(new TypeError("Failed to fetch"))).toBe("TypeError: Failed to fetch");
  });

  it("posts the trimmed reason to the incident's raise-level and answers its detail, or why not", async () => {
    const raised = detail("inc-1", "acknowledged", group);
    const fetched = vi.fn(async (_path: string, _init: RequestInit) => new Response(JSON.stringify(raised), { status: 200 }));
    vi.stubGlobal("fetch", fetched);
    expect(await raiseLevelOf("inc-1", "  两条街被淹 ")).toEqual(raised);
    const [path, init] = fetched.mock.calls[0];
    expect([path, init.method, init.body]).toEqual(["/incidents/inc-1/raise-level", "POST", JSON.stringify({ reason: "两条街被淹" })]);
    const refused = { detail: "已达最多 5 支队伍 · incident inc-1 has 5 tasks open, the most a level may ask for" };
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(refused), { status: 409 })));
    await expect(raiseLevelOf("inc-1", "more")).rejects.toThrow("未能提级增派：已达最多 5 支队伍 · incident inc-1 has 5 tasks open");
  });
});

describe("support tasks on the board's list", () => {
  const reported = (id: string, lead_id?: string) => ({
    type: lead_id ? "incident.support_requested" : "incident.reported", occurred_at: "",
    payload: { id, kind: "disaster_relief", priority: "critical", latitude: 30.6, longitude: 114.3, reported_at: "2026-07-01T00:00:00Z", lead_id },
  });

  it("adds a support task live, marked by its lead, and queues it", () => {
    const incidents = new Map<string, Incident>();
    applyEvent(incidents, reported("inc-1"));
    expect(applyEvent(incidents, reported("inc-1.1", "inc-1"))).toBe("inc-1.1");
    applyEvent(incidents, { type: "incident.queued", occurred_at: "", payload: { incident_id: "inc-1.1", reason: "level raised" } });
    expect(openOnes(incidents).map((i) => [i.id, i.lead_id, i.state])).toEqual([
      ["inc-1", null, "reported"],
      ["inc-1.1", "inc-1", "queued"],
    ]);
  });

  it("tells the tasks of one incident apart from another's, to reload the detail shown", () => {
    const incidents = new Map<string, Incident>();
    for (const [id, lead] of [["inc-1", undefined], ["inc-1.1", "inc-1"], ["inc-1.2", "inc-1"], ["inc-2", undefined]] as const) {
      applyEvent(incidents, reported(id, lead));
    }
    expect(sameIncident(incidents, "inc-1.2", "inc-1")).toBe(true);
    expect(sameIncident(incidents, "inc-1", "inc-1.1")).toBe(true);
    expect(sameIncident(incidents, "inc-1.1", "inc-1.2")).toBe(true);
    expect(sameIncident(incidents, "inc-2", "inc-1")).toBe(false);
    expect(sameIncident(incidents, "unknown", "unknown")).toBe(true);
  });

  it("reads lead_id from the first read's rows", () => {
    const [lead, support] = fromOpenBoard({
      seq: 7,
      incident_fields: ["id", "kind", "priority", "region", "address", "state", "team_id", "reported_at", "latitude", "longitude", "master_id", "lead_id", "clocks"],
      clock_fields: ["kind", "attempt", "state", "started_at", "deadline"],
      incidents: [
        ["inc-1", "disaster_relief", "critical", "wuhan", "", "assigned", "t1", "2026-07-01T00:00:00Z", 30.6, 114.3, null, null, []],
        ["inc-1.1", "disaster_relief", "critical", "wuhan", "", "queued", null, "2026-07-01T00:00:00Z", 30.6, 114.3, null, "inc-1", []],
      ],
    });
    expect([lead.lead_id, support.lead_id]).toEqual([null, "inc-1"]);
  });

  it("says why a team on another task of the incident cannot take this one", () => {
    const sibling = { team_id: "t1", problem: "on_sibling_task", eligible: false, excluded: null } as Candidate;
    expect(whyNot(sibling)).toBe("已在本事件执行另一任务");
  });
});
