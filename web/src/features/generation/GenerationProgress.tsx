import type { Job } from "../../api/types";
import { progressFraction, progressText } from "./jobs";

/** A progress bar with step i of N and the time left; a Cancel button beside it. */
export function GenerationProgress({ job, onCancel, what }: { job: Job | null; onCancel(): void; what: string }) {
  const fraction = progressFraction(job);
  const text = progressText(job);
  return (
    <div className="gen-progress" role="status" aria-live="polite">
      <progress className="bar" max={1} value={fraction ?? undefined} aria-label={`${what} progress`} aria-valuetext={text} />
      <div className="row spread">
        <span className="small" data-testid="progress-text">
          {text}
        </span>
        <button type="button" className="danger" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
