/**
 * Turns a model's parameter JSON Schema into form fields, and form values into request
 * parameters (with the reasons a value is refused, before anything is sent).
 */

export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
  properties?: Record<string, JsonSchema>;
  $defs?: Record<string, JsonSchema>;
  [key: string]: unknown;
};

export type FieldKind = "slider" | "number" | "select" | "switch" | "text" | "json";

export interface Field {
  name: string;
  label: string;
  description?: string;
  kind: FieldKind;
  integer: boolean;
  min?: number;
  max?: number;
  step?: number;
  options?: string[];
  /** The schema's default (undefined when it has none or it is null). */
  defaultValue?: unknown;
  schema: JsonSchema;
  /** Accepts plain text when the value is not JSON (e.g. `stop`: a string or a list). */
  textFallback: boolean;
}

/** Form state: what the user typed/set, by parameter name. Absent = the model's default. */
export type FormValues = Record<string, string | number | boolean>;

function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  if (schema.$ref?.startsWith("#/$defs/")) {
    const target = root.$defs?.[schema.$ref.slice(8)];
    if (target) return { ...target, ...schema, $ref: undefined };
  }
  return schema;
}

/** Drops `null` branches of anyOf/oneOf; a single remaining branch is merged in. */
function normalize(schema: JsonSchema, root: JsonSchema): { s: JsonSchema; branches: JsonSchema[] } {
  const s = resolve(schema, root);
  const alts = (s.anyOf ?? s.oneOf)?.map((b) => resolve(b, root)).filter((b) => b.type !== "null");
  if (alts && alts.length === 1) {
    const { anyOf: _a, oneOf: _o, ...rest } = s;
    return { s: { ...alts[0], ...rest, type: alts[0]!.type }, branches: alts };
  }
  if (Array.isArray(s.type)) {
    const types = s.type.filter((t) => t !== "null");
    if (types.length === 1) return { s: { ...s, type: types[0] }, branches: [] };
  }
  return { s, branches: alts ?? [] };
}

function titleOf(name: string): string {
  return name.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

export function fieldsFromSchema(root: JsonSchema | null | undefined): Field[] {
  if (!root?.properties) return [];
  return Object.entries(root.properties).map(([name, raw]) => {
    const { s, branches } = normalize(raw, root);
    const base = {
      name,
      label: s.title ?? titleOf(name),
      description: s.description,
      defaultValue: s.default === null ? undefined : s.default,
      schema: s,
      integer: s.type === "integer",
      textFallback: false,
    };
    if (s.enum && s.enum.length) {
      return { ...base, kind: "select", options: s.enum.map(String) };
    }
    if (s.type === "boolean") return { ...base, kind: "switch" };
    if (s.type === "number" || s.type === "integer") {
      const min = s.minimum ?? s.exclusiveMinimum;
      const max = s.maximum ?? s.exclusiveMaximum;
      const bounded = min !== undefined && max !== undefined;
      const step = s.multipleOf ?? (s.type === "integer" ? 1 : bounded ? niceStep(max - min) : undefined);
      return { ...base, kind: bounded ? "slider" : "number", min, max, step };
    }
    if (s.type === "string") return { ...base, kind: "text" };
    return { ...base, kind: "json", textFallback: branches.some((b) => b.type === "string") };
  });
}

function niceStep(range: number): number {
  return range <= 2 ? 0.01 : range <= 20 ? 0.1 : 1;
}

/** The value a control shows: the user's, else the schema default, else an empty value. */
export function displayValue(field: Field, values: FormValues): string | number | boolean {
  const v = values[field.name];
  if (v !== undefined) return v;
  const d = field.defaultValue;
  if (field.kind === "switch") return d === true;
  if (field.kind === "slider") return typeof d === "number" ? d : (field.min ?? 0);
  if (d === undefined) return "";
  return typeof d === "object" ? JSON.stringify(d) : (d as string | number);
}

/** Why a value is refused, in words; null when it is fine. */
export function validateField(field: Field, value: string | number | boolean | undefined): string | null {
  if (value === undefined || value === "") return null;
  const s = field.schema;
  if (field.kind === "slider" || field.kind === "number") {
    const n = typeof value === "number" ? value : Number(String(value).trim());
    if (!Number.isFinite(n)) return `${field.label} must be a number.`;
    if (field.integer && !Number.isInteger(n)) return `${field.label} must be a whole number.`;
    if (s.minimum !== undefined && n < s.minimum) return `${field.label} must be at least ${s.minimum}.`;
    if (s.maximum !== undefined && n > s.maximum) return `${field.label} must be at most ${s.maximum}.`;
    if (s.exclusiveMinimum !== undefined && n <= s.exclusiveMinimum)
      return `${field.label} must be more than ${s.exclusiveMinimum}.`;
    if (s.exclusiveMaximum !== undefined && n >= s.exclusiveMaximum)
      return `${field.label} must be less than ${s.exclusiveMaximum}.`;
    return null;
  }
  if (field.kind === "select") {
    return field.options?.includes(String(value)) ? null : `${field.label} must be one of ${field.options?.join(", ")}.`;
  }
  if (field.kind === "text") {
    const text = String(value);
    if (s.minLength !== undefined && text.length < s.minLength)
      return `${field.label} needs at least ${s.minLength} characters.`;
    if (s.maxLength !== undefined && text.length > s.maxLength)
      return `${field.label} allows at most ${s.maxLength} characters.`;
    if (s.pattern && !new RegExp(s.pattern, "u").test(text)) return `${field.label} is not in the expected format.`;
    return null;
  }
  if (field.kind === "json") {
    try {
      JSON.parse(String(value));
      return null;
    } catch {
      return field.textFallback ? null : `${field.label} must be valid JSON (e.g. {"key": "value"}).`;
    }
  }
  return null;
}

/** Every refused value, by parameter name. */
export function validateAll(fields: Field[], values: FormValues): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const e = validateField(f, values[f.name]);
    if (e) errors[f.name] = e;
  }
  return errors;
}

/** The parameters to send: only those the user set, converted to their JSON types. */
export function toParams(fields: Field[], values: FormValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = values[f.name];
    if (v === undefined || v === "") continue;
    if (f.kind === "slider" || f.kind === "number") out[f.name] = Number(v);
    else if (f.kind === "switch") out[f.name] = Boolean(v);
    else if (f.kind === "json") {
      try {
        out[f.name] = JSON.parse(String(v));
      } catch {
        out[f.name] = String(v);
      }
    } else out[f.name] = String(v);
  }
  return out;
}
