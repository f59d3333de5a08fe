import type { ChatMessage, ContentPart, SessionMessage, Usage } from "../../api/types";

export interface UiMessage {
  id: string;
  role: "user" | "assistant" | "system" | "tool";
  content: string;
  /** Attached images (data: or http(s) URLs), sent as `image_url` content parts. */
  images?: string[];
  usage?: Usage | null;
  model?: string | null;
  streaming?: boolean;
  stopped?: boolean;
  error?: string;
}

let counter = 0;
export const newId = () => `m${Date.now().toString(36)}${(counter++).toString(36)}`;

/** Text of a stored message (a string, or OpenAI content parts; images as [image_url]). */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p: { type?: string; text?: string }) => (p?.type === "text" ? (p.text ?? "") : p?.type ? `[${p.type}]` : ""))
      .join("");
  }
  return content == null ? "" : JSON.stringify(content);
}

/** Text and image URLs of a message's content (parts other than text and images are named). */
export function splitContent(content: unknown): { text: string; images: string[] } {
  if (!Array.isArray(content)) return { text: textOf(content), images: [] };
  const images: string[] = [];
  const text: string[] = [];
  for (const p of content as Array<Partial<ContentPart>>) {
    if (p?.type === "image_url" && p.image_url?.url) images.push(p.image_url.url);
    else if (p?.type === "text") text.push(p.text ?? "");
    else if (p?.type) text.push(`[${p.type}]`);
  }
  return { text: text.join(""), images };
}

/** The `content` to send: plain text, or text + `image_url` parts when images are attached. */
export function wireContent(text: string, images: readonly string[] = []): string | ContentPart[] {
  if (!images.length) return text;
  const parts: ContentPart[] = text ? [{ type: "text", text }] : [];
  for (const url of images) parts.push({ type: "image_url", image_url: { url } });
  return parts;
}

/** A transcript message as the API takes it (user and assistant turns only). */
export function toWire(m: UiMessage): ChatMessage | null {
  if (m.role !== "user" && m.role !== "assistant") return null;
  if (m.role === "assistant" && !m.content) return null; // a reply that failed before any text
  return { role: m.role, content: m.role === "user" ? wireContent(m.content, m.images) : m.content };
}

/** The history before message `index`, to start an edited conversation's new session. */
export function historyBefore(messages: readonly UiMessage[], index: number): ChatMessage[] {
  return messages
    .slice(0, index)
    .map(toWire)
    .filter((m): m is ChatMessage => m !== null);
}

export function fromStored(m: SessionMessage): UiMessage {
  const usage = m.usage as Usage | null | undefined;
  const { text, images } = splitContent(m.content);
  return {
    id: `s${m.seq}`,
    role: (["user", "assistant", "system", "tool"].includes(m.role) ? m.role : "assistant") as UiMessage["role"],
    content: text,
    images: images.length ? images : undefined,
    usage: usage && typeof usage.total_tokens === "number" ? usage : null,
    model: m.model,
    stopped: m.interrupted || undefined,
  };
}
