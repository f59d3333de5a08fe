import { useState } from "react";
import { must, type Api } from "../../api/client";
import { describeError } from "../../api/errors";
import type { LoadedModel, RegistryModel } from "../../api/types";
import { formatBytes } from "../../lib/format";

interface Props {
  api: Api;
  models: RegistryModel[];
  loaded: LoadedModel[];
  /** The local runner is configured (load/unload are available). */
  runner: boolean;
  onChanged(): void;
}

/** The local models in the registry: pin, load/unload, delete; what is loaded now. */
export function RegistryList({ api, models, loaded, runner, onChanged }: Props) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  async function act(key: string, f: () => Promise<string | void>) {
    setBusy(key);
    setError(null);
    setNotice(null);
    try {
      const said = await f();
      if (said) setNotice(said);
      onChanged();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(null);
    }
  }
  const path = (m: RegistryModel) => ({ params: { path: { model_id: m.id } } });

  const pin = (m: RegistryModel) =>
    act(`pin-${m.id}`, async () => {
      must(await api.client.PATCH("/v1/registry/models/{model_id}", { ...path(m), body: { pinned: !m.pinned } }));
    });
  const load = (m: RegistryModel) =>
    act(`load-${m.id}`, async () => {
      const row = must(await api.client.POST("/v1/registry/models/{model_id}/load", { ...path(m), body: {} }));
      return `Loaded ${row.id} on ${row.device ?? "this machine"}.`;
    });
  const unload = (m: RegistryModel) =>
    act(`unload-${m.id}`, async () => {
      const r = must(await api.client.POST("/v1/registry/models/{model_id}/unload", path(m)));
      return r.unloaded ? `Unloaded ${r.id}.` : `${r.id} was not loaded.`;
    });
  const remove = (m: RegistryModel) =>
    act(`delete-${m.id}`, async () => {
      const what = m.discovered ? "Unregister" : "Delete";
      if (!window.confirm(`${what} ${m.model}?${m.discovered ? " Its files stay where they are." : " Its files are deleted."}`)) return;
      const r = must(await api.client.DELETE("/v1/registry/models/{model_id}", path(m)));
      return r.files_deleted ? `Deleted ${m.model} and its files.` : `Unregistered ${m.model} (its files were kept).`;
    });
  const scan = () =>
    act("scan", async () => {
      const r = must(await api.client.POST("/v1/registry/scan"));
      return `Scan: ${r.added.length} added, ${r.updated.length} updated, ${r.missing.length} missing.`;
    });

  const loadedById = new Map(loaded.map((l) => [l.id, l]));
  return (
    <section className="card admin-card" aria-labelledby="registry-title">
      <div className="row spread">
        <h2 id="registry-title">Local models</h2>
        <button type="button" onClick={() => void scan()} disabled={busy === "scan"}>
          Scan folders
        </button>
      </div>
      {models.length === 0 && <p className="muted">No local models yet: pull one, or put GGUF files in a model folder and scan.</p>}
      <ul className="plain registry">
        {models.map((m) => {
          const live = loadedById.get(m.model);
          return (
            <li key={m.id} className="registry-item" data-testid={`registry-${m.id}`}>
              <div className="row spread wrap">
                <span className="model-id">{m.model}</span>
                <span className="badges">
                  <span className="badge">{m.format}</span>
                  <span className="badge">{m.modality}</span>
                  <span className={`badge state-${m.state}`}>{m.state}</span>
                  {m.discovered && <span className="badge">discovered</span>}
                  {live && <span className="badge badge-loaded">loaded</span>}
                </span>
              </div>
              <p className="muted small">
                {formatBytes(m.total_size)}
                {m.source ? ` · ${m.source}` : ""}
                {m.last_used_at ? ` · last used ${new Date(m.last_used_at).toLocaleString()}` : ""}
              </p>
              {live && (
                <p className="small" data-testid="loaded-info">
                  Loaded on {live.device ?? "?"} ({live.engine}){live.memory_bytes ? ` · ${formatBytes(live.memory_bytes)}` : ""}
                  {live.busy ? ` · ${live.busy} busy` : ""}
                  {live.expires_at ? ` · unloads at ${new Date(live.expires_at).toLocaleTimeString()}` : " · stays loaded"}
                </p>
              )}
              {m.error && <p className="error small">{m.error}</p>}
              <div className="row wrap">
                <label className="row switch-label">
                  <input type="checkbox" role="switch" className="switch" checked={m.pinned} onChange={() => void pin(m)} disabled={busy !== null} />
                  Pinned
                  <span className="sr-only"> {m.model}</span>
                </label>
                {runner &&
                  m.state === "ready" &&
                  (live ? (
                    <button type="button" onClick={() => void unload(m)} disabled={busy !== null} aria-label={`Unload ${m.model}`}>
                      Unload
                    </button>
                  ) : (
                    <button type="button" onClick={() => void load(m)} disabled={busy !== null} aria-label={`Load ${m.model}`}>
                      {busy === `load-${m.id}` ? "Loading…" : "Load"}
                    </button>
                  ))}
                <button type="button" className="danger" onClick={() => void remove(m)} disabled={busy !== null} aria-label={`${m.discovered ? "Unregister" : "Delete"} ${m.model}`}>
                  {m.discovered ? "Unregister" : "Delete"}
                </button>
              </div>
            </li>
          );
        })}
      </ul>
      {loaded.filter((l) => !models.some((m) => m.model === l.id)).length > 0 && (
        <p className="small muted">Also loaded: {loaded.filter((l) => !models.some((m) => m.model === l.id)).map((l) => l.id).join(", ")}</p>
      )}
      {notice && (
        <p role="status" className="notice small">
          {notice}
        </p>
      )}
      {error && (
        <p role="alert" className="error small">
          {error}
        </p>
      )}
    </section>
  );
}
