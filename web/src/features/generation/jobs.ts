// Image and 3D generation: sent with "async": true, followed as a job (progress over SSE,
// cancel); a gateway that answers at once (200) is handled the same way.
import type { Api } from "../../api/client";
import { ApiError, apiError, networkError } from "../../api/errors";
import { followEvents } from "../../api/sse";
import type { Job } from "../../api/types";
import { formatDuration } from "../../lib/format";

export const TERMINAL = ["succeeded", "failed", "cancelled"];

export class Cancelled extends Error {
  constructor() {
    super("Cancelled.");
    this.name = "Cancelled";
  }
}

export interface GenerateOptions {
  /** Called with the job as it is accepted and at each progress event. */
  onJob?(job: Job): void;
  /** Aborts a request that is answered synchronously (jobs are cancelled with cancelJob). */
  signal?: AbortSignal;
  /** Milliseconds between polls when the event stream is unavailable. */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The job's outcome: its result, or the error it failed with, or Cancelled. */
export function outcome<T>(job: Job): T {
  if (job.status === "succeeded") return job.result as T;
  if (job.status === "cancelled") throw new Cancelled();
  const e = job.error;
  throw new ApiError(e?.message ?? "The generation failed.", 500, null, e?.code ?? null);
}

/** POSTs a generation; returns the result (the synchronous body), following the job if any. */
export async function generate<T>(api: Api, path: string, body: Record<string, unknown>, opts: GenerateOptions = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${api.baseUrl || window.location.origin}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${api.apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ ...body, async: true }),
      signal: opts.signal,
    });
  } catch (err) {
    if (opts.signal?.aborted) throw new Cancelled();
    throw networkError(api.baseUrl);
  }
  const data: unknown = await res.json().catch(() => null);
  if (!res.ok) throw apiError(res.status, data, res.headers.get("X-Request-ID"));
  if (res.status !== 202) return data as T;
  let job = data as Job;
  opts.onJob?.(job);
  try {
    await followEvents(
      api.baseUrl,
      api.apiKey,
      `/v1/jobs/${encodeURIComponent(job.id)}/events`,
      (e) => {
        job = JSON.parse(e.data) as Job;
        opts.onJob?.(job);
        return TERMINAL.includes(job.status);
      },
    );
  } catch {
    /* the stream failed: poll below */
  }
  while (!TERMINAL.includes(job.status)) {
    await sleep(opts.pollMs ?? 1000);
    const r = await fetch(`${api.baseUrl || window.location.origin}/v1/jobs/${encodeURIComponent(job.id)}`, {
      headers: { Authorization: `Bearer ${api.apiKey}` },
    }).catch(() => null);
    if (!r) continue;
    const d: unknown = await r.json().catch(() => null);
    if (!r.ok) throw apiError(r.status, d, r.headers.get("X-Request-ID"));
    job = d as Job;
    opts.onJob?.(job);
  }
  return outcome<T>(job);
}

/** Asks the gateway to stop a job (its event stream then ends with `cancelled`). */
export async function cancelJob(api: Api, id: string): Promise<void> {
  await api.client.POST("/v1/jobs/{job_id}/cancel", { params: { path: { job_id: id } } });
}

/** A job's progress in words: "Step 3 of 20 · 15% · about 12 s left". */
export function progressText(job: Job | null): string {
  if (!job) return "Generating…";
  if (job.status === "queued") return "Waiting in the queue…";
  const p = job.progress;
  const parts: string[] = [];
  if (p.steps > 0) parts.push(`Step ${p.step} of ${p.steps}`);
  if (p.fraction != null) parts.push(`${Math.round(p.fraction * 100)}%`);
  if (p.eta_seconds != null && job.status === "running") parts.push(`about ${formatDuration(p.eta_seconds)} left`);
  return parts.length ? parts.join(" · ") : "Starting…";
}

/** 0..1 for a progress bar; null while unknown (an indeterminate bar). */
export function progressFraction(job: Job | null): number | null {
  if (!job) return null;
  if (job.status === "succeeded") return 1;
  const p = job.progress;
  if (p.fraction != null) return Math.min(1, Math.max(0, p.fraction));
  return p.steps > 0 ? Math.min(1, p.step / p.steps) : null;
}
