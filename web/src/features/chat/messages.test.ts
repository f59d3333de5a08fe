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

