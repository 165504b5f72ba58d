import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { boardExport, isDigest, refusalText, shanghaiDateTime, shanghaiLocal, shanghaiMoment } from "./audit";

describe("moments read in Asia/Shanghai", () => {
  it("takes a datetime-local value as Shanghai wall time, with its offset", () => {
    expect(shanghaiMoment("2026-07-01T14:05")).toBe("2026-07-01T14:05:00+08:00");
    expect(shanghaiMoment("2026-07-01T14:05:30")).toBe("2026-07-01T14:05:30+08:00");
    expect(new Date(shanghaiMoment("2026-07-01T14:05:30")).toISOString()).toBe("2026-07-01T06:05:30.000Z");
  });

  it("gives nothing for what is no time", () => {
    for (const text of ["", "2026-07-01", "14:05", "2026-07-01T14:05:00Z", "yesterday"]) {
      expect(shanghaiMoment(text)).toBe("");
    }
  });

  it("shows a UTC moment as the Shanghai clock read it, across midnight", () => {
    expect(shanghaiLocal(new Date("2026-06-30T20:30:15Z"))).toBe("2026-07-01T04:30:15");
    expect(shanghaiDateTime("2026-06-30T20:30:15Z", "en")).toContain("04:30:15");
    expect(shanghaiDateTime("2026-06-30T20:30:15Z", "zh-CN")).toContain("2026");
  });

  it("puts the moment asked for in the export's address", () => {
    const url = new URL(boardExport("2026-07-01T14:05:00+08:00", "csv"), "http://x");
    expect(url.pathname).toBe("/audit/board/export");
    expect(url.searchParams.get("at")).toBe("2026-07-01T14:05:00+08:00"); // the + survives
    expect(url.searchParams.get("format")).toBe("csv");
  });
});

describe("digests as `everycall audit digest` prints them", () => {
  const hash = "9f2c".repeat(16);
  it("accepts SEQ:HASH, with the spaces a paste brings", () => {
    expect(isDigest(`1234:${hash}`)).toBe(true);
    expect(isDigest(`  1234:${hash}\n`)).toBe(true);
  });

  it("refuses anything else", () => {
    for (const text of ["", "1234", `1234:${hash.slice(1)}`, `x:${hash}`, `1234:${hash.toUpperCase()}`, `1234 ${hash}`]) {
      expect(isDigest(text)).toBe(false);
    }
  });
});

describe("refusals", () => {
  it("keeps the server's sentence and drops a validation list flattened to text", () => {
    expect(refusalText(new ApiError(429, "another board replay is running"))).toEqual({ status: 429, said: "another board replay is running" });
    expect(refusalText(new ApiError(422, "[object Object]"))).toEqual({ status: 422, said: "" });
  });
});
