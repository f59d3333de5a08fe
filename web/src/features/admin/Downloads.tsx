import { useEffect, useState, type FormEvent } from "react";
import { must, type Api } from "../../api/client";
import { describeError } from "../../api/errors";
import { followEvents } from "../../api/sse";
import type { DownloadJob } from "../../api/types";
import { formatBytes, formatDuration, percent } from "../../lib/format";
import { isActive, pullRequest, upsertJob } from "./downloads";

interface Props {
  api: Api;
  /** A download finished (a new model is in the registry). */
  onDone(): void;
}

/** Pull a model (hf:// or a URL) and watch every download's progress live. */
export function Downloads({ api, onDone }: Props) {
  const [jobs, setJobs] = useState<DownloadJob[]>([]);
  const [source, setSource] = useState("");
  const [files, setFiles] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    (async () => {
      try {
        setJobs(must(await api.client.GET("/v1/registry/downloads")).data);
      } catch (err) {
        setError(describeError(err));
      }
    })();
  }, [api]);

  const update = (job: DownloadJob) => setJobs((list) => upsertJob(list, job));

  async function pull(e: FormEvent) {
    e.preventDefault();
    setError(null);
    const body = pullRequest(source, files, name);
    if (typeof body === "string") return setError(body);
    try {
      update(must(await api.client.POST("/v1/registry/downloads", { body })));
      setSource("");
      setFiles("");
      setName("");
    } catch (err) {
      setError(describeError(err));
    }
  }

  return (
    <section className="card admin-card" aria-labelledby="pull-title">
      <h2 id="pull-title">Pull a model</h2>
      <form className="pull-form" onSubmit={pull}>
        <label htmlFor="pull-source">Source</label>
        <input
          id="pull-source"
          value={source}
          onChange={(e) => setSource(e.target.value)}
          placeholder="hf://org/repo or https://…/model.gguf"
          aria-describedby="pull-source-help"
          autoComplete="off"
          spellCheck={false}
        />
        <p id="pull-source-help" className="muted small">
          A Hugging Face repository (your Hugging Face token from My keys is used for gated ones) or a direct link to a GGUF file.
        </p>
        <div className="row wrap">
          <div className="grow">
            <label htmlFor="pull-files">Files (optional)</label>
            <input id="pull-files" value={files} onChange={(e) => setFiles(e.target.value)} placeholder="*Q4_K_M.gguf" spellCheck={false} />
          </div>
          <div className="grow">
            <label htmlFor="pull-name">Name (optional)</label>
            <input id="pull-name" value={name} onChange={(e) => setName(e.target.value)} spellCheck={false} />
          </div>
        </div>
        <button type="submit" className="primary" disabled={!source.trim()}>
          Pull
        </button>
      </form>
      {error && (
        <p role="alert" className="error small">
          {error}
        </p>
      )}
      {jobs.length > 0 && (
        <>
          <h3>Downloads</h3>
          <ul className="plain downloads">
            {jobs.map((j) => (
              <DownloadRow key={j.id} api={api} job={j} onUpdate={update} onDone={onDone} />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

interface RowProps {
  api: Api;
  job: DownloadJob;
  onUpdate(job: DownloadJob): void;
  onDone(): void;
}

function DownloadRow({ api, job, onUpdate, onDone }: RowProps) {
  const [error, setError] = useState<string | null>(null);
  const active = isActive(job);

  useEffect(() => {
    if (!active) return;
    const ctrl = new AbortController();
    followEvents(
      api.baseUrl,
      api.apiKey,
      `/v1/registry/downloads/${encodeURIComponent(job.id)}/events`,
      (e) => {
        const next = JSON.parse(e.data) as DownloadJob;
        onUpdate(next);
        if (next.state === "done") onDone();
        return !isActive(next);
      },
      ctrl.signal,
    ).catch((err) => {
      if (!ctrl.signal.aborted) setError(describeError(err));
    });
    return () => ctrl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, job.id, active]);

  async function cancel() {
    try {
      onUpdate(must(await api.client.DELETE("/v1/registry/downloads/{job_id}", { params: { path: { job_id: job.id } } })));
    } catch (err) {
      setError(describeError(err));
    }
  }

  const pct = percent(job.bytes_done, job.bytes_total);
  const label = job.model ?? job.name;
  return (
    <li className="download" data-testid={`download-${job.name}`} aria-label={`Download of ${label}`}>
      <div className="row spread">
        <span className="download-name">{label}</span>
        <span className={`state state-${job.state}`}>{job.state}</span>
      </div>
      <progress
        className="bar"
        max={100}
        value={job.state === "done" ? 100 : (pct ?? undefined)}
        aria-label={`Progress of ${label}`}
        aria-valuetext={pct != null ? `${pct}%` : job.state}
      />
      <p className="muted small">
        {job.source}
        {" · "}
        {formatBytes(job.bytes_done)}
        {job.bytes_total ? ` of ${formatBytes(job.bytes_total)}` : ""}
        {pct != null && active ? ` (${pct}%)` : ""}
        {active && job.rate ? ` · ${formatBytes(job.rate)}/s` : ""}
        {active && job.eta_seconds != null ? ` · ${formatDuration(job.eta_seconds)} left` : ""}
      </p>
      {job.error && <p className="error small">{job.error}</p>}
      {error && (
        <p role="alert" className="error small">
          {error}
        </p>
      )}
      {active && (
        <button type="button" className="danger" onClick={() => void cancel()} aria-label={`Cancel download of ${label}`}>
          Cancel
        </button>
      )}
    </li>
  );
}
