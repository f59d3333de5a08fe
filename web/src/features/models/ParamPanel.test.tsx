import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { useMemo, useState } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { ParamPanel } from "./ParamPanel";
import { fieldsFromSchema, toParams, validateAll, type FormValues, type JsonSchema } from "./schemaForm";

const schema: JsonSchema = {
  type: "object",
  properties: {
    temperature: { type: "number", minimum: 0, maximum: 2, default: 1, description: "Sampling temperature." },
    max_tokens: { type: "integer", minimum: 1, title: "Max Tokens" },
    reasoning_effort: { type: "string", enum: ["low", "high"], title: "Reasoning Effort" },
    logprobs: { type: "boolean", default: false, title: "Logprobs" },
  },
};

let last: Record<string, unknown> = {};
function Harness() {
  const [values, setValues] = useState<FormValues>({});
  const fields = useMemo(() => fieldsFromSchema(schema), []);
  const errors = validateAll(fields, values);
  last = toParams(fields, values);
  return <ParamPanel fields={fields} values={values} errors={errors} onChange={setValues} modelId="m" />;
}

describe("ParamPanel", () => {
  afterEach(cleanup);

  it("renders a labelled control per parameter with defaults and descriptions", () => {
    render(<Harness />);
    const slider = screen.getByLabelText("Temperature") as HTMLInputElement;
    expect(slider.type).toBe("range");
    expect(slider.value).toBe("1");
    expect(slider.getAttribute("aria-describedby")).toBeTruthy();
    expect(screen.getByText("Sampling temperature.")).toBeTruthy();
    expect((screen.getByLabelText("Max Tokens") as HTMLInputElement).type).toBe("text");
    expect(screen.getByLabelText("Reasoning Effort").tagName).toBe("SELECT");
    expect(screen.getByRole("switch", { name: "Logprobs" })).toBeTruthy();
  });

  it("sends changed values, explains invalid ones, and resets", () => {
    render(<Harness />);
    fireEvent.change(screen.getByLabelText("Temperature"), { target: { value: "0.4" } });
    fireEvent.click(screen.getByRole("switch", { name: "Logprobs" }));
    fireEvent.change(screen.getByLabelText("Reasoning Effort"), { target: { value: "high" } });
    expect(last).toEqual({ temperature: 0.4, logprobs: true, reasoning_effort: "high" });

    fireEvent.change(screen.getByLabelText("Max Tokens"), { target: { value: "0" } });
    expect(screen.getByRole("alert").textContent).toBe("Max Tokens must be at least 1.");
    expect(screen.getByLabelText("Max Tokens").getAttribute("aria-invalid")).toBe("true");

    fireEvent.click(screen.getByRole("button", { name: "Reset to defaults" }));
    expect(last).toEqual({});
    expect(screen.queryByRole("alert")).toBeNull();
    expect((screen.getByLabelText("Temperature") as HTMLInputElement).value).toBe("1");
  });
});
