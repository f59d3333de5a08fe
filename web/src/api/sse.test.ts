import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "./errors";
import { SseParser, streamChat } from "./sse";

describe("SseParser", () => {
  it("returns complete events, whatever the read boundaries", () => {
    const p = new SseParser();
    expect(p.push("data: {\"a\"")).toEqual([]);
    expect(p.push(":1}\n")).toEqual([]);
    expect(p.push("\ndata: second\n\n")).toEqual(['{"a":1}', "second"]);
  });

  it("handles CRLF and CR line endings split across reads", () => {
    const p = new SseParser();
    expect(p.push("data: one\r")).toEqual([]);
    expect(p.push("\n\r\ndata: two\r\r")).toEqual(["one"]); // a final \r may be half of \r\n
    expect(p.push("data: three\n\n")).toEqual(["two", "three"]);
  });

  it("joins multi-line data and skips comments and other fields", () => {
    const p = new SseParser();
    expect(p.push(": keep-alive\nevent: x\nid: 3\ndata: a\ndata:b\n\n")).toEqual(["a\nb"]);
  });

  it("flushes an unterminated last event", () => {
    const p = new SseParser();
    expect(p.push("data: [DONE]")).toEqual([]);
    expect(p.end()).toEqual(["[DONE]"]);
  });
});

function sseResponse(parts: string[], headers: Record<string, string> = {}): Response {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const part of parts) c.enqueue(enc.encode(part));
      c.close();
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream", ...headers } });
}

const chunk = (content: string | null, extra: object = {}) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: null }], ...extra })}\n\n`;

describe("streamChat", () => {
  afterEach(() => vi.restoreAllMocks());

  it("reports deltas in order and returns usage", async () => {
    const fetchMock = vi.spyOn(globalThis, "fetch").mockResolvedValue(
      sseResponse(
        [chunk("echo:"), chunk(" hi").slice(0, 20), chunk(" hi").slice(20), `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } })}\n\n`, "data: [DONE]\n\n"],
        { "X-Request-ID": "req-1" },
      ),
    );
    const deltas: string[] = [];
    const out = await streamChat("http://gw", "sk", { model: "m", messages: [{ role: "user", content: "hi" }] }, { onDelta: (d) => deltas.push(d) });
    expect(deltas).toEqual(["echo:", " hi"]);
    expect(out.usage).toEqual({ prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
    expect(out.requestId).toBe("req-1");
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe("http://gw/v1/chat/completions");
    const sent = JSON.parse(String(init!.body));
    expect(sent).toMatchObject({ stream: true, stream_options: { include_usage: true }, model: "m" });
    expect((init!.headers as Record<string, string>).Authorization).toBe("Bearer sk");
  });

  it("turns an error response into an ApiError with the request id", async () => {
    vi.spyOn(globalThis, "fetch").mockResolvedValue(
      new Response(JSON.stringify({ error: { message: "No model named 'x'.", type: "not_found_error", code: "model_not_found" } }), {
        status: 404,
        headers: { "X-Request-ID": "abc123" },
      }),
    );
    const err = await streamChat("", "sk", { model: "x", messages: [{ role: "user", content: "hi" }] }, { onDelta: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, requestId: "abc123", message: "No model named 'x'.", code: "model_not_found" });
  });

  it("says the gateway is unreachable when fetch fails", async () => {
    vi.spyOn(globalThis, "fetch").mockRejectedValue(new TypeError("Failed to fetch"));
    const err = await streamChat("http://down:1", "sk", { model: "m", messages: [{ role: "user", content: "x" }] }, { onDelta: () => {} }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/Can't reach the PlugAI gateway at http:\/\/down:1/);
  });

  it("surfaces an error sent mid-stream", async () => {
    vi.spyOn(globalThis, "fetch").mockResolvedValue(sseResponse([chunk("a"), `data: {"error": {"message": "upstream died", "type": "api_error"}}\n\n`]));
    const deltas: string[] = [];
    const err = await streamChat("", "sk", { model: "m", messages: [{ role: "user", content: "x" }] }, { onDelta: (d) => deltas.push(d) }).catch((e: unknown) => e);
    expect(deltas).toEqual(["a"]);
    expect((err as Error).message).toMatch(/upstream died/);
  });
});

describe("SseParser events", () => {
  it("names events and defaults to message", async () => {
    const { SseParser } = await import("./sse");
    const p = new SseParser();
    expect(p.pushEvents("event: progress\ndata: {\"a\":1}\n\ndata: x\n")).toEqual([{ event: "progress", data: '{"a":1}' }]);
    expect(p.pushEvents("\nevent: succeeded\ndata: y")).toEqual([{ event: "message", data: "x" }]);
    expect(p.endEvents()).toEqual([{ event: "succeeded", data: "y" }]);
  });
});
