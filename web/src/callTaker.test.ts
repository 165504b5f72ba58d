import { describe, expect, it } from "vitest";
import { divisionAt, fill, nudged } from "./callTaker";
import { allMessages } from "./i18n";

describe("the division under the pin", () => {
  it("is the one whose bundled border holds the point", () => {
    expect(divisionAt({ latitude: 30.5544, longitude: 114.3167 })?.code).toBe("wuhan"); // 武昌区
    expect(divisionAt({ latitude: 30.326, longitude: 112.2519 })).toEqual({ code: "jingzhou", name: "荆州市" }); // 沙市区
    expect(divisionAt({ latitude: 30.2947, longitude: 109.4797 })?.code).toBe("enshi"); // 恩施市
    expect(divisionAt({ latitude: 30.3614, longitude: 113.4236 })?.code).toBe("xiantao");
  });

  it("is none outside Hubei", () => {
    expect(divisionAt({ latitude: 28.2282, longitude: 112.9388 })).toBeNull(); // Changsha
    expect(divisionAt({ latitude: 22.5333, longitude: 113.9304 })).toBeNull(); // Shenzhen
  });
});

describe("moving the pin with the keyboard", () => {
  const at = { latitude: 30.5, longitude: 114.3 };

  it("steps about 100 m with an arrow and about 1 km with Shift", () => {
    expect(nudged(at, "ArrowUp", false)).toEqual({ latitude: 30.501, longitude: 114.3 });
    expect(nudged(at, "ArrowLeft", false)).toEqual({ latitude: 30.5, longitude: 114.299 });
    expect(nudged(at, "ArrowDown", true)).toEqual({ latitude: 30.49, longitude: 114.3 });
    expect(nudged(at, "ArrowRight", true)).toEqual({ latitude: 30.5, longitude: 114.31 });
  });

  it("ignores the other keys", () => {
    expect(nudged(at, "Enter", false)).toBeNull();
    expect(nudged(at, "a", true)).toBeNull();
  });
});

describe("the nearby warning", () => {
  it("fills the count and the radius into each language's sentence", () => {
    expect(fill(allMessages["zh-CN"].callTakerNearby, { n: 2, km: 2 })).toMatch(/^附近已有 2 起同类工单（2 公里内）/);
    expect(fill(allMessages.en.callTakerNearby, { n: 3, km: 2 })).toMatch(/^3 open incidents of this kind within 2 km/);
    expect(fill("{n} of {missing}", { n: 1 })).toBe("1 of {missing}");
  });
});
