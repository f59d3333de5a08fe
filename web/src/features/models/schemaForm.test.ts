import { describe, expect, it } from "vitest";
import { displayValue, fieldsFromSchema, toParams, validateAll, validateField, type JsonSchema } from "./schemaForm";

// Shapes as PlugAI's model cards carry them (flattened) and as pydantic writes them (anyOf null).
const schema: JsonSchema = {
  type: "object",
  properties: {
    temperature: { type: "number", minimum: 0, maximum: 2, default: 1, description: "Sampling temperature." },
    top_k: { anyOf: [{ type: "integer", minimum: 1, maximum: 100 }, { type: "null" }], default: null },
    max_tokens: { type: "integer", minimum: 1, default: null, title: "Max Tokens" },
    reasoning_effort: { anyOf: [{ enum: ["low", "high"], type: "string" }, { type: "null" }], default: null },
    logprobs: { anyOf: [{ type: "boolean" }, { type: "null" }], default: false },
    size: { type: "string", pattern: "^\\d{2,5}x\\d{2,5}$", default: "1024x1024" },
    stop: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }, { type: "null" }] },
    response_format: { type: "object", additionalProperties: true },
    mode: { $ref: "#/$defs/Mode" },
  },
  $defs: { Mode: { type: "string", enum: ["a", "b"] } },
};

describe("fieldsFromSchema", () => {
  const fields = fieldsFromSchema(schema);
  const by = Object.fromEntries(fields.map((f) => [f.name, f]));

  it("picks a control for each kind of schema", () => {
    expect(by.temperature).toMatchObject({ kind: "slider", min: 0, max: 2, step: 0.01, defaultValue: 1 });
    expect(by.top_k).toMatchObject({ kind: "slider", integer: true, step: 1, min: 1, max: 100 });
    expect(by.max_tokens).toMatchObject({ kind: "number", integer: true, label: "Max Tokens" });
    expect(by.reasoning_effort).toMatchObject({ kind: "select", options: ["low", "high"] });
    expect(by.logprobs).toMatchObject({ kind: "switch", defaultValue: false });
    expect(by.size).toMatchObject({ kind: "text", defaultValue: "1024x1024" });
    expect(by.stop).toMatchObject({ kind: "json", textFallback: true });
    expect(by.response_format).toMatchObject({ kind: "json", textFallback: false });
    expect(by.mode).toMatchObject({ kind: "select", options: ["a", "b"] });
  });

  it("takes labels and descriptions from the schema", () => {
    expect(by.temperature!.label).toBe("Temperature");
    expect(by.temperature!.description).toBe("Sampling temperature.");
    expect(by.reasoning_effort!.label).toBe("Reasoning effort");
  });

  it("shows defaults until the user sets a value", () => {
    expect(displayValue(by.temperature!, {})).toBe(1);
    expect(displayValue(by.top_k!, {})).toBe(1);
    expect(displayValue(by.size!, {})).toBe("1024x1024");
    expect(displayValue(by.logprobs!, {})).toBe(false);
    expect(displayValue(by.temperature!, { temperature: 0.3 })).toBe(0.3);
  });

  it("explains invalid values before sending", () => {
    expect(validateField(by.temperature!, 3)).toBe("Temperature must be at most 2.");
    expect(validateField(by.temperature!, "abc")).toBe("Temperature must be a number.");
    expect(validateField(by.max_tokens!, "0")).toBe("Max Tokens must be at least 1.");
    expect(validateField(by.max_tokens!, "2.5")).toBe("Max Tokens must be a whole number.");
    expect(validateField(by.size!, "big")).toBe("Size is not in the expected format.");
    expect(validateField(by.response_format!, "{nope")).toMatch(/valid JSON/);
    expect(validateField(by.stop!, "END")).toBeNull();
    expect(validateAll(fieldsFromSchema(schema), { temperature: 0.5, size: "512x512" })).toEqual({});
  });

  it("sends only what the user set, with JSON types", () => {
    const params = toParams(fields, {
      temperature: "0.3",
      max_tokens: "12",
      logprobs: true,
      stop: '["a", "b"]',
      response_format: '{"type": "json_object"}',
      size: "",
    });
    expect(params).toEqual({
      temperature: 0.3,
      max_tokens: 12,
      logprobs: true,
      stop: ["a", "b"],
      response_format: { type: "json_object" },
    });
    expect(toParams(fields, { stop: "END" })).toEqual({ stop: "END" });
    expect(toParams(fields, {})).toEqual({});
  });

  it("handles a missing schema", () => {
    expect(fieldsFromSchema(undefined)).toEqual([]);
    expect(fieldsFromSchema({ type: "object" })).toEqual([]);
  });
});
