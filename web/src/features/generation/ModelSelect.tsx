import type { ModelCard } from "../../api/types";

interface Props {
  id: string;
  models: ModelCard[];
  value: string | null;
  onChange(id: string): void;
  /** Said when no model fits (e.g. "No model here makes images."). */
  none: string;
}

/** A labelled select of the models that can do this studio's work, grouped by provider. */
export function ModelSelect({ id, models, value, onChange, none }: Props) {
  if (!models.length) return <p className="muted">{none}</p>;
  const providers = [...new Set(models.map((m) => m.provider))].sort();
  return (
    <>
      <label htmlFor={id}>Model</label>
      <select id={id} value={value ?? ""} onChange={(e) => onChange(e.target.value)}>
        {!value && <option value="">Choose…</option>}
        {providers.map((p) => (
          <optgroup key={p} label={p}>
            {models
              .filter((m) => m.provider === p)
              .map((m) => (
                <option key={m.id} value={m.id}>
                  {m.id}
                </option>
              ))}
          </optgroup>
        ))}
      </select>
    </>
  );
}
