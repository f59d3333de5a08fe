import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, percent } from "./format";

describe("format", () => {
  it("bytes", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(20 * 1024 * 1024)).toBe("20 MB");
    expect(formatBytes(3.25 * 1024 ** 3)).toBe("3.3 GB");
    expect(formatBytes(null)).toBe("—");
  });
  it("durations", () => {
    expect(formatDuration(44.6)).toBe("45 s");
    expect(formatDuration(185)).toBe("3 min 5 s");
    expect(formatDuration(120)).toBe("2 min");
    expect(formatDuration(7800)).toBe("2 h 10 min");
    expect(formatDuration(undefined)).toBe("—");
  });
  it("percent", () => {
    expect(percent(50, 200)).toBe(25);
    expect(percent(300, 200)).toBe(100);
    expect(percent(1, null)).toBeNull();
  });
});
