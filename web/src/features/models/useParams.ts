import { useMemo, useState } from "react";
import type { ModelCard } from "../../api/types";
import { fieldsFromSchema, toParams, validateAll, type FormValues, type JsonSchema } from "./schemaForm";

/**
 * The parameter form of a model: fields from its JSON Schema (less those the screen sets
 * itself), the values set, the reasons values are refused, and the parameters to send.
 * Values are forgotten when the model changes.
 */
export function useModelParams(card: ModelCard | null, exclude: readonly string[] = []) {
  const [state, setState] = useState<{ model: string | null; values: FormValues }>({ model: null, values: {} });
  const model = card?.id ?? null;
  const values = state.model === model ? state.values : {};
  const setValues = (v: FormValues) => setState({ model, values: v });
  const key = exclude.join(",");
  const fields = useMemo(
    () => fieldsFromSchema(card?.parameters as JsonSchema | undefined).filter((f) => !exclude.includes(f.name)),
    [card, key], // eslint-disable-line react-hooks/exhaustive-deps
  );
  const errors = useMemo(() => validateAll(fields, values), [fields, values]);
  const params = useMemo(() => toParams(fields, values), [fields, values]);
  return { fields, values, setValues, errors, params };
}
