import type { ModelCard } from "../../api/types";

const LABELS: Record<string, string> = {
  chat: "chat",
  vision: "vision",
  tools: "tools",
  json_schema: "JSON",
  images: "image",
  embeddings: "embeddings",
  loaded: "loaded",
};

/** Short capability badges for a model card. */
export function badges(card: ModelCard): string[] {
  const caps = card.capabilities ?? {};
  const out = Object.entries(LABELS)
    .filter(([k]) => caps[k])
    .map(([, label]) => label);
  if (card.output_modalities?.includes("3d") || card.output_modalities?.includes("mesh")) out.push("3D");
  out.push(card.provider === "local" ? "local" : "remote");
  return out;
}

export function isChatModel(card: ModelCard): boolean {
  return Boolean(card.capabilities?.chat);
}

export function modalityOf(card: ModelCard): string {
  const out = card.output_modalities ?? [];
  if (card.capabilities?.chat || out.includes("text")) return "Text";
  if (out.includes("image")) return "Image";
  if (card.capabilities?.embeddings) return "Embeddings";
  return out[0] ? out[0].replace(/^./, (c) => c.toUpperCase()) : "Other";
}

/** Models grouped by provider (then modality), filtered by a search text. */
export function groupModels(models: ModelCard[], search: string): Array<[string, ModelCard[]]> {
  const q = search.trim().toLowerCase();
  const groups = new Map<string, ModelCard[]>();
  for (const m of models) {
    const hay = `${m.id} ${m.provider} ${(m.aliases ?? []).join(" ")} ${badges(m).join(" ")}`.toLowerCase();
    if (q && !q.split(/\s+/).every((w) => hay.includes(w))) continue;
    const key = `${m.provider} · ${modalityOf(m)}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}
