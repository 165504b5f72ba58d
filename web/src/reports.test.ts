import { describe, expect, it } from "vitest";
import { BAR, barShapes, linePath, xScale, yScale } from "./charts";
import reports from "./messages/reports";
import { type SlaLine, ledgerPath, percent, shanghaiDateTime, shanghaiMonth, worstFirst } from "./reports";

const line = (name: string, sla_compliance: number | null): SlaLine => ({
  name, received: 1, answered: 1, unanswered: 0, missed: 0, declined: 0, escalations: 0,
  ack_min_median: null, ack_min_p90: null, arrive_min_median: null, arrive_min_p90: null, sla_compliance,
});

describe("the reports' order and wording", () => {
  it("puts the worst compliance first, ties by name, and leaves out lines with nothing decided", () => {
    const lines = [line("wuhan", 0.97), line("yichang", 0.8), line("enshi", null), line("ezhou", 0.8)];
    expect(worstFirst(lines).map((l) => l.name)).toEqual(["ezhou", "yichang", "wuhan"]);
  });

  it("reads months and times in Asia/Shanghai whatever the browser's zone", () => {
    expect(shanghaiMonth(new Date("2026-11-30T16:00:00Z"))).toBe("2026-12");
    expect(shanghaiMonth(new Date("2026-11-30T15:59:59Z"))).toBe("2026-11");
    expect(shanghaiDateTime("2026-12-01T01:30:00Z")).toBe("2026-12-01 09:30");
    expect(shanghaiDateTime(null)).toBe("–");
    expect(percent(0.9512)).toBe("95.1%");
    expect(percent(null)).toBe("–");
  });

  it("asks for the ledger's files by month, team and format", () => {
    expect(ledgerPath("2026-12", "HB-WH-001", "xlsx")).toBe("/reports/ledger?month=2026-12&team_id=HB-WH-001&format=xlsx");
    expect(ledgerPath("2026-12", "", "json")).toBe("/reports/ledger?month=2026-12");
  });

  it("has every reports label in both languages", () => {
    expect(Object.keys(reports.en).sort()).toEqual(Object.keys(reports["zh-CN"]).sort());
  });
});

describe("the charts' geometry", () => {
  it("scales bars to the plot, stacks them in order and marks those below the target", () => {
    const shapes = barShapes(
      [{ key: "a", label: "A", value: 0.5, detail: "" }, { key: "b", label: "B", value: 1, detail: "" }],
      0.95,
    );
    expect(shapes.map((s) => s.width)).toEqual([BAR.plot / 2, BAR.plot]);
    expect(shapes[1].y).toBeGreaterThan(shapes[0].y);
    expect(shapes.map((s) => s.short)).toEqual([true, false]);
  });

  it("draws a line through the points and breaks it where a point has no value", () => {
    const x = xScale(0, 2);
    const path = linePath([{ at: 0, value: 1 }, { at: 1, value: null }, { at: 2, value: 0 }], x);
    expect(path.match(/M/g)).toHaveLength(2);
    expect(path).not.toContain("L");
    expect(yScale(1)).toBeLessThan(yScale(0)); // up is better
  });
});
