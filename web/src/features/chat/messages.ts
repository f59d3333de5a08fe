import type { SessionMessage, Usage } from "../../api/types";

export interface UiMessage {
  id: string;
  role: "user" | "assistant" | "system" | "tool";
  content: string;
  usage?: Usage | null;
  model?: string | null;
  streaming?: boolean;
  stopped?: boolean;
  error?: string;
}

let counter = 0;
export const newId = () => `m${Date.now().toString(36)}${(counter++).toString(36)}`;

/** Text of a stored message (a string, or OpenAI content parts). */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p: { type?: string; text?: string }) => (p?.type === "text" ? (p.text ?? "") : p?.type ? `[${p.type}]` : ""))
      .join("");
  }
  return content == null ? "" : JSON.stringify(content);
}

export function fromStored(m: SessionMessage): UiMessage {
  const usage = m.usage as Usage | null | undefined;
  return {
    id: `s${m.seq}`,
    role: (["user", "assistant", "system", "tool"].includes(m.role) ? m.role : "assistant") as UiMessage["role"],
    content: textOf(m.content),
    usage: usage && typeof usage.total_tokens === "number" ? usage : null,
    model: m.model,
    stopped: m.interrupted || undefined,
  };
}
