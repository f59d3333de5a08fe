import { afterEach, describe, expect, it, vi } from "vitest";
import type { Api } from "../../api/client";
import { ApiError } from "../../api/errors";
import type { Job } from "../../api/types";
import { Cancelled, generate, outcome, progressFraction, progressText } from "./jobs";

const job = (over: Partial<Job> = {}): Job => ({
  id: "job_1",
  object: "generation.job",
  kind: "images",
  model: "m",
  status: "running",
  progress: { step: 3, steps: 20, fraction: 0.15, eta_seconds: 12 },
  result: null,
  error: null,
  created_at: 1,
  started_at: 1,
  finished_at: null,
  ...over,
});

const api = { baseUrl: "http://gw", apiKey: "k", client: {} } as unknown as Api;

function sse(events: Array<[string, Job]>): Response {
  const text = events.map(([e, j]) => `event: ${e}\ndata: ${JSON.stringify(j)}\n\n`).join("");
  return new Response(text, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

afterEach(() => vi.unstubAllGlobals());

describe("job progress", () => {
  it("says the step, share and time left", () => {
    expect(progressText(job())).toBe("Step 3 of 20 · 15% · about 12 s left");
    expect(progressText(job({ status: "queued" }))).toBe("Waiting in the queue…");
    expect(progressText(job({ progress: { step: 0, steps: 0, fraction: null, eta_seconds: null } }))).toBe("Starting…");
    expect(progressText(null)).toBe("Generating…");
    expect(progressFraction(job())).toBe(0.15);
    expect(progressFraction(job({ progress: { step: 5, steps: 10, fraction: null, eta_seconds: null } }))).toBe(0.5);
    expect(progressFraction(job({ status: "succeeded" }))).toBe(1);
    expect(progressFraction(null)).toBeNull();
  });

  it("turns a finished job into its result or an error", () => {
    expect(outcome(job({ status: "succeeded", result: { data: [1] } }))).toEqual({ data: [1] });
    expect(() => outcome(job({ status: "cancelled" }))).toThrow(Cancelled);
    const failed = job({ status: "failed", error: { message: "out of memory", type: "server_error", param: null, code: "oom" } });
    expect(() => outcome(failed)).toThrow(ApiError);
    expect(() => outcome(failed)).toThrow("out of memory");
  });
});

describe("generate", () => {
  it("returns a synchronous answer as it is", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ created: 1, data: [] }), { status: 200 }));
    vi.stubGlobal("fetch", fetch);
    expect(await generate(api, "/v1/images/generations", { model: "m", prompt: "p" })).toEqual({ created: 1, data: [] });
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://gw/v1/images/generations");
    expect(JSON.parse(String(init.body))).toEqual({ model: "m", prompt: "p", async: true });
  });

  it("follows a job's events to its result", async () => {
    const seen: string[] = [];
    const done = job({ status: "succeeded", result: { created: 2, data: ["x"] } });
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(new Response(JSON.stringify(job({ status: "queued" })), { status: 202 }))
      .mockResolvedValueOnce(sse([["progress", job()], ["succeeded", done]]));
    vi.stubGlobal("fetch", fetch);
    const res = await generate(api, "/v1/3d/generations", { model: "m" }, { onJob: (j) => seen.push(j.status) });
    expect(res).toEqual({ created: 2, data: ["x"] });
    expect(seen).toEqual(["queued", "running", "succeeded"]);
    expect(String(fetch.mock.calls[1]![0])).toBe("http://gw/v1/jobs/job_1/events");
  });

  it("polls when the event stream is unavailable, and reports failures", async () => {
    const failed = job({ status: "failed", error: { message: "no GPU", type: "server_error", param: null, code: null } });
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(new Response(JSON.stringify(job({ status: "queued" })), { status: 202 }))
      .mockRejectedValueOnce(new TypeError("network"))
      .mockResolvedValueOnce(new Response(JSON.stringify(job()), { status: 200 }))
      .mockResolvedValueOnce(new Response(JSON.stringify(failed), { status: 200 }));
    vi.stubGlobal("fetch", fetch);
    await expect(generate(api, "/p", {}, { pollMs: 1 })).rejects.toThrow("no GPU");
    expect(fetch).toHaveBeenCalledTimes(4);
  });

  it("explains a refused request", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ error: { message: "'prompt' is too long" } }), { status: 400 })));
    await expect(generate(api, "/p", {})).rejects.toThrow("'prompt' is too long");
  });
});
