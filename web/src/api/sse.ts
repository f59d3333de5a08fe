import { apiError, networkError } from "./errors";
import type { ChatChunk, ChatRequest } from "./types";

/**
 * Incremental Server-Sent Events parser: feed it text as it arrives, get back the `data`
 * payloads of complete events. Handles \n, \r\n and \r line endings, multi-line data,
 * comments and events split across reads.
 */
export interface SseEvent {
  /** The `event:` field; "message" when the event has none. */
  event: string;
  data: string;
}

export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private event = "";

  /** The `data` payloads of the events completed by this text. */
  push(text: string): string[] {
    return this.pushEvents(text).map((e) => e.data);
  }

  /** The events (name and data) completed by this text. */
  pushEvents(text: string): SseEvent[] {
    this.buffer += text;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (m[0] === "\r" && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line, out);
    }
    return out;
  }

  /** Flushes an event the stream ended without a blank line after. */
  end(): string[] {
    return this.endEvents().map((e) => e.data);
  }

  endEvents(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.buffer) this.line(this.buffer, out);
    this.buffer = "";
    this.line("", out);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === "") {
      if (this.data.length) out.push({ event: this.event || "message", data: this.data.join("\n") });
      this.data = [];
      this.event = "";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
  }
}

/**
 * GETs an event stream with the API key (EventSource can't send one) and calls onEvent for
 * each event until the stream ends, onEvent returns true, or the signal aborts.
 */
export async function followEvents(
  baseUrl: string,
  apiKey: string,
  path: string,
  onEvent: (event: SseEvent) => boolean | void,
  signal?: AbortSignal,
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl || window.location.origin}${path}`, {
      headers: { Authorization: `Bearer ${apiKey}`, Accept: "text/event-stream" },
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw networkError(baseUrl);
  }
  if (!res.ok || !res.body) {
    const data: unknown = await res.json().catch(() => null);
    throw apiError(res.status, data, res.headers.get("X-Request-ID"));
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      const events = done ? parser.endEvents() : parser.pushEvents(value);
      for (const e of events) if (onEvent(e) === true) return;
      if (done) return;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

export interface StreamHandlers {
  onDelta(text: string): void;
  onChunk?(chunk: ChatChunk): void;
}

/** POSTs a streamed chat completion and reports deltas as they arrive. Returns the last usage. */
export async function streamChat(
  baseUrl: string,
  apiKey: string,
  body: ChatRequest,
  handlers: StreamHandlers,
  signal?: AbortSignal,
): Promise<{ usage: ChatChunk["usage"]; finishReason: string | null; requestId: string | null }> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl || window.location.origin}/v1/chat/completions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw networkError(baseUrl);
  }
  const requestId = res.headers.get("X-Request-ID");
  if (!res.ok || !res.body) {
    const data: unknown = await res.json().catch(() => null);
    throw apiError(res.status, data, requestId);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  let usage: ChatChunk["usage"] = null;
  let finishReason: string | null = null;
  const handle = (payloads: string[]): boolean => {
    for (const payload of payloads) {
      if (payload === "[DONE]") return true;
      const chunk = JSON.parse(payload) as ChatChunk & { error?: unknown };
      if (chunk.error) throw apiError(502, chunk, requestId);
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices?.[0];
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      const text = choice?.delta?.content;
      if (text) handlers.onDelta(text);
      handlers.onChunk?.(chunk);
    }
    return false;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      handle(parser.end());
      break;
    }
    if (handle(parser.push(value))) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  return { usage, finishReason, requestId };
}
