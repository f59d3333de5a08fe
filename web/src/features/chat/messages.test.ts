import { describe, expect, it } from "vitest";
import { addCopyButtons, renderMarkdown } from "./Markdown";
import { fromStored, textOf } from "./messages";

describe("stored messages", () => {
  it("reads text from strings and content parts", () => {
    expect(textOf("hi")).toBe("hi");
    expect(textOf([{ type: "text", text: "a" }, { type: "image_url" }, { type: "text", text: "b" }])).toBe("a[image_url]b");
    expect(textOf(null)).toBe("");
  });

  it("maps a session message for display", () => {
    const m = fromStored({
      object: "session.message",
      seq: 2,
      role: "assistant",
      content: "echo: hi",
      model: "fakeai/gpt-4o-mini",
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      interrupted: true,
      created_at: "2026-01-01T00:00:00Z",
    });
    expect(m).toMatchObject({ id: "s2", role: "assistant", content: "echo: hi", stopped: true });
    expect(m.usage?.total_tokens).toBe(3);
  });
});

describe("renderMarkdown", () => {
  it("renders Markdown and strips scripts", () => {
    const html = renderMarkdown("**bold** <img src=x onerror=alert(1)> <script>alert(1)</script>\n\n```js\nx\n```");
    expect(html).toContain("<strong>bold</strong>");
    expect(html).toContain("<pre><code");
    expect(html).not.toContain("onerror");
    expect(html).not.toContain("<script");
  });
});

describe("addCopyButtons", () => {
  it("adds one copy button per code block", () => {
    const div = document.createElement("div");
    div.innerHTML = renderMarkdown("```\na\n```\n\ntext\n\n```\nb\n```");
    addCopyButtons(div);
    addCopyButtons(div);
    expect(div.querySelectorAll("pre > button.code-copy")).toHaveLength(2);
  });
});


describe("content parts", () => {
  it("splits text and images and builds them back", async () => {
    const { splitContent, wireContent } = await import("./messages");
    const parts = wireContent("look", ["data:image/png;base64,AAA"]);
    expect(parts).toEqual([
      { type: "text", text: "look" },
      { type: "image_url", image_url: { url: "data:image/png;base64,AAA" } },
    ]);
    expect(splitContent(parts)).toEqual({ text: "look", images: ["data:image/png;base64,AAA"] });
    expect(wireContent("plain")).toBe("plain");
    expect(wireContent("", ["u"])).toEqual([{ type: "image_url", image_url: { url: "u" } }]);
    expect(splitContent([{ type: "input_audio" }, { type: "text", text: "x" }])).toEqual({ text: "[input_audio]x", images: [] });
  });

  it("shows stored images in the transcript", () => {
    const m = fromStored({
      object: "session.message",
      seq: 1,
      role: "user",
      content: [
        { type: "text", text: "what is this?" },
        { type: "image_url", image_url: { url: "data:image/png;base64,AAA" } },
      ],
      interrupted: false,
      created_at: "2026-01-01T00:00:00Z",
    });
    expect(m.content).toBe("what is this?");
    expect(m.images).toEqual(["data:image/png;base64,AAA"]);
  });

  it("keeps the turns before an edited message, as the API takes them", async () => {
    const { historyBefore } = await import("./messages");
    const ms = [
      { id: "1", role: "user" as const, content: "a", images: ["u1"] },
      { id: "2", role: "assistant" as const, content: "echo: a" },
      { id: "3", role: "user" as const, content: "b" },
      { id: "4", role: "assistant" as const, content: "", error: "failed" },
      { id: "5", role: "user" as const, content: "c" },
      { id: "6", role: "assistant" as const, content: "echo: c" },
    ];
    expect(historyBefore(ms, 4)).toEqual([
      { role: "user", content: [{ type: "text", text: "a" }, { type: "image_url", image_url: { url: "u1" } }] },
      { role: "assistant", content: "echo: a" },
      { role: "user", content: "b" },
    ]);
    expect(historyBefore(ms, 0)).toEqual([]);
  });
});
