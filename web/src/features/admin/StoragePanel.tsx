import { useState } from "react";
import { must, type Api } from "../../api/client";
import { describeError } from "../../api/errors";
import type { CleanupResult, StorageUsage } from "../../api/types";
import { formatBytes, percent } from "../../lib/format";

interface Props {
  api: Api;
  usage: StorageUsage | null;
  onCleaned(): void;
}

/** Storage used against the limit, by kind, and a cleanup that is previewed first. */
export function StoragePanel({ api, usage, onCleaned }: Props) {
  const [preview, setPreview] = useState<CleanupResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  async function cleanup(dryRun: boolean) {
    setError(null);
    setNotice(null);
    try {
      const result = must(await api.client.POST("/v1/storage/cleanup", { body: { dry_run: dryRun } }));
      if (dryRun) setPreview(result);
      else {
        setPreview(null);
        setNotice(`Freed ${formatBytes(result.freed)} (${result.evicted.length} model(s) removed).`);
        onCleaned();
      }
    } catch (err) {
      setError(describeError(err));
    }
  }

  if (!usage) return <section className="card admin-card" aria-busy="true" aria-label="Storage" />;
  const used = Object.values(usage.used).reduce((a, b) => a + b, 0);
  const share = percent(used + usage.reserved, usage.limit);
  return (
    <section className="card admin-card" aria-labelledby="storage-title">
      <h2 id="storage-title">Storage</h2>
      <p data-testid="storage-summary">
        <strong>{formatBytes(used)}</strong> used
        {usage.limit != null ? ` of ${formatBytes(usage.limit)}` : " (no limit set)"}
        {usage.reserved ? ` · ${formatBytes(usage.reserved)} reserved for downloads` : ""}
      </p>
      {share != null && (
        <progress className="bar" max={100} value={share} aria-label={`Storage used: ${share}% of the limit`} />
      )}
      <ul className="plain small muted">
        {Object.entries(usage.used).map(([kind, n]) => (
          <li key={kind}>
            {kind}: {formatBytes(n)}
          </li>
        ))}
        <li>
          disk: {formatBytes(usage.disk_free)} free of {formatBytes(usage.disk_total)} (keeps {formatBytes(usage.min_free_disk)} free)
        </li>
        <li>
          eviction: {usage.eviction}; {usage.evictable.length} model(s) could be removed ({formatBytes(usage.evictable_bytes)})
        </li>
      </ul>
      <div className="row wrap">
        <button type="button" onClick={() => void cleanup(true)}>
          Preview cleanup
        </button>
        {preview && (preview.evicted.length > 0 || preview.removed_records.length > 0) && (
          <button type="button" className="danger" onClick={() => void cleanup(false)}>
            Free {formatBytes(preview.freed)} now
          </button>
        )}
      </div>
      {preview && (
        <p role="status" className="small">
          {preview.evicted.length || preview.removed_records.length
            ? `Cleanup would remove ${[...preview.evicted, ...preview.removed_records].join(", ")} and free ${formatBytes(preview.freed)}.`
            : "Nothing to clean up: pinned, loaded and discovered models are never removed."}
        </p>
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
