import type { DownloadJob } from "../../api/types";

export const FINISHED = ["done", "failed", "cancelled"];

/** Whether a job may still change (and so is followed over its event stream). */
export const isActive = (job: DownloadJob) => !FINISHED.includes(job.state);

/** Replaces a job in the list (newest first) or puts it first. */
export function upsertJob(list: readonly DownloadJob[], job: DownloadJob): DownloadJob[] {
  const i = list.findIndex((j) => j.id === job.id);
  if (i < 0) return [job, ...list];
  const next = list.slice();
  next[i] = job;
  return next;
}

/** What to send for a pull: an hf://org/repo (or a Hub URL) or an http(s) URL of a file. */
export function pullRequest(source: string, files: string, name: string): { source: string; files?: string[]; name?: string } | string {
  let s = source.trim();
  const hub = /^https:\/\/huggingface\.co\/([\w.-]+\/[\w.-]+)\/?$/.exec(s);
  if (hub) s = `hf://${hub[1]}`;
  if (!/^(hf:\/\/[\w.-]+\/[\w.-]+|https?:\/\/\S+)$/.test(s))
    return "Give hf://organisation/repository (a Hugging Face repo) or an http(s) link to a .gguf file.";
  const patterns = files
    .split(/[,\s]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (patterns.length && !s.startsWith("hf://")) return "File patterns only apply to hf:// repositories.";
  return { source: s, ...(patterns.length ? { files: patterns } : {}), ...(name.trim() ? { name: name.trim() } : {}) };
}
