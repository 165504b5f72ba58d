import { describe, expect, it } from "vitest";
import { rovingStep, tabStopOf } from "./roving";

describe("the map's marks share one tab stop", () => {
  it("moves with the arrows and wraps at both ends", () => {
    expect(rovingStep("ArrowRight", 0, 3)).toBe(1);
    expect(rovingStep("ArrowDown", 2, 3)).toBe(0);
    expect(rovingStep("ArrowLeft", 0, 3)).toBe(2);
    expect(rovingStep("ArrowUp", 1, 3)).toBe(0);
  });

  it("jumps with Home and End, and ignores other keys and an empty set", () => {
    expect(rovingStep("Home", 2, 3)).toBe(0);
    expect(rovingStep("End", 0, 3)).toBe(2);
    expect(rovingStep("Tab", 1, 3)).toBeNull();
    expect(rovingStep("ArrowRight", 0, 0)).toBeNull();
  });

  it("keeps the stop on the mark last focused, then the selected one, then the first", () => {
    expect(tabStopOf(["a", "b", "c"], "c", "b")).toBe("c");
    expect(tabStopOf(["a", "b", "c"], "gone", "b")).toBe("b");
    expect(tabStopOf(["a", "b", "c"], null, null)).toBe("a");
    expect(tabStopOf([], null, "b")).toBeNull();
  });
});
