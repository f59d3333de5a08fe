import { describe, expect, it } from "vitest";
import type { DownloadJob } from "../../api/types";
import { isActive, pullRequest, upsertJob } from "./downloads";

const job = (id: string, state = "running") => ({ id, state }) as DownloadJob;

describe("downloads", () => {
  it("builds a pull request or says what is wrong", () => {
    expect(pullRequest(" hf://org/tiny-GGUF ", "*Q4_K_M*", "")).toEqual({ source: "hf://org/tiny-GGUF", files: ["*Q4_K_M*"] });
    expect(pullRequest("https://huggingface.co/org/repo", "", "mine")).toEqual({ source: "hf://org/repo", name: "mine" });
    expect(pullRequest("https://example.com/m.gguf", "", "")).toEqual({ source: "https://example.com/m.gguf" });
    expect(pullRequest("llama3", "", "")).toMatch(/hf:\/\/organisation\/repository/);
    expect(pullRequest("https://example.com/m.gguf", "*.gguf", "")).toMatch(/only apply to hf/);
  });

  it("keeps the job list current", () => {
    const list = [job("a"), job("b")];
    expect(upsertJob(list, job("c")).map((j) => j.id)).toEqual(["c", "a", "b"]);
    expect(upsertJob(list, job("b", "done"))[1]!.state).toBe("done");
    expect(isActive(job("x", "queued"))).toBe(true);
    expect(isActive(job("x", "cancelled"))).toBe(false);
  });
});
