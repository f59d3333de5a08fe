import { describe, expect, it } from "vitest";
import type { ModelCard } from "../../api/types";
import { badges, groupModels } from "./badges";

const card = (id: string, provider: string, caps: Record<string, boolean>, out = ["text"]): ModelCard => ({
  id,
  object: "model",
  created: 0,
  owned_by: provider,
  provider,
  input_modalities: ["text"],
  output_modalities: out,
  capabilities: caps,
  aliases: [],
  parameters: {},
});

const models = [
  card("openai/gpt-4o", "openai", { chat: true, vision: true, tools: true, json_schema: true }),
  card("openai/dall-e-3", "openai", { images: true }, ["image"]),
  card("local/tiny", "local", { chat: true, loaded: true }),
];

describe("model picker data", () => {
  it("makes capability badges", () => {
    expect(badges(models[0]!)).toEqual(["chat", "vision", "tools", "JSON", "remote"]);
    expect(badges(models[2]!)).toEqual(["chat", "loaded", "local"]);
  });

  it("groups by provider and modality and searches", () => {
    expect(groupModels(models, "").map(([g]) => g)).toEqual(["local · Text", "openai · Image", "openai · Text"]);
    expect(groupModels(models, "vision").flatMap(([, m]) => m.map((c) => c.id))).toEqual(["openai/gpt-4o"]);
    expect(groupModels(models, "local tiny")).toHaveLength(1);
    expect(groupModels(models, "nothing")).toEqual([]);
  });
});
