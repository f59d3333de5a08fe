import type { Field, FormValues } from "./schemaForm";
import { displayValue } from "./schemaForm";

interface Props {
  fields: Field[];
  values: FormValues;
  errors: Record<string, string>;
  onChange(values: FormValues): void;
  modelId: string | null;
  /** Shows the "Parameters" heading (off where the surrounding control names it). */
  heading?: boolean;
}

/** Controls generated from the chosen model's parameter JSON Schema. */
export function ParamPanel({ fields, values, errors, onChange, modelId, heading = true }: Props) {
  const set = (name: string, v: string | number | boolean | undefined) => {
    const next = { ...values };
    if (v === undefined) delete next[name];
    else next[name] = v;
    onChange(next);
  };
  const changed = Object.keys(values).length;

  return (
    <section className="params" aria-labelledby={heading ? "params-title" : undefined} aria-label={heading ? undefined : "Parameters"}>
      <div className="row spread">
        {heading ? <h2 id="params-title">Parameters</h2> : <span />}
        <button type="button" onClick={() => onChange({})} disabled={!changed}>
          Reset to defaults
        </button>
      </div>
      {!modelId && <p className="muted">Choose a model to see its parameters.</p>}
      {modelId && fields.length === 0 && <p className="muted">{modelId} takes no parameters.</p>}
      {fields.map((f) => (
        <FieldControl key={f.name} field={f} values={values} error={errors[f.name]} set={set} />
      ))}
    </section>
  );
}

interface FieldProps {
  field: Field;
  values: FormValues;
  error?: string;
  set(name: string, v: string | number | boolean | undefined): void;
}

function FieldControl({ field: f, values, error, set }: FieldProps) {
  const id = `param-${f.name}`;
  const descId = `${id}-desc`;
  const errId = `${id}-err`;
  const shown = displayValue(f, values);
  const isSet = values[f.name] !== undefined;
  const describedBy = [f.description ? descId : "", error ? errId : ""].filter(Boolean).join(" ") || undefined;
  const common = { id, "aria-describedby": describedBy, "aria-invalid": error ? true : undefined };

  let control;
  switch (f.kind) {
    case "slider":
      control = (
        <div className="row">
          <input
            {...common}
            type="range"
            min={f.min}
            max={f.max}
            step={f.step}
            value={Number(shown)}
            onChange={(e) => set(f.name, Number(e.target.value))}
          />
          <input
            type="number"
            className="num"
            aria-label={`${f.label} value`}
            min={f.min}
            max={f.max}
            step={f.step}
            value={String(shown)}
            onChange={(e) => set(f.name, e.target.value === "" ? undefined : e.target.value)}
          />
        </div>
      );
      break;
    case "switch":
      control = (
        <input
          {...common}
          type="checkbox"
          role="switch"
          className="switch"
          checked={Boolean(shown)}
          onChange={(e) => set(f.name, e.target.checked)}
        />
      );
      break;
    case "select":
      control = (
        <select {...common} value={String(shown)} onChange={(e) => set(f.name, e.target.value || undefined)}>
          <option value="">(model default)</option>
          {f.options?.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      );
      break;
    default:
      control = (
        <input
          {...common}
          type="text"
          inputMode={f.kind === "number" ? "decimal" : undefined}
          placeholder={f.kind === "json" ? (f.textFallback ? 'text, or JSON like ["a", "b"]' : "JSON") : f.kind === "number" ? "number" : "(model default)"}
          value={String(shown)}
          onChange={(e) => set(f.name, e.target.value === "" ? undefined : e.target.value)}
        />
      );
  }

  return (
    <div className={`field field-${f.kind}${isSet ? " is-set" : ""}`}>
      <div className="field-head">
        <label htmlFor={id}>{f.label}</label>
        {isSet && (
          <button type="button" className="link small" onClick={() => set(f.name, undefined)} aria-label={`Reset ${f.label}`}>
            reset
          </button>
        )}
      </div>
      {control}
      {f.description && (
        <p id={descId} className="muted small">
          {f.description}
        </p>
      )}
      {error && (
        <p id={errId} className="error small" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
