import { describe, expect, it } from "vitest";
import { highlightAll, languageOf } from "./highlight";
import { highlightCode, renderMarkdown } from "./Markdown";

function rendered(md: string): HTMLDivElement {
  const div = document.createElement("div");
  div.innerHTML = renderMarkdown(md);
  document.body.append(div);
  return div;
}

describe("code highlighting", () => {
  it("highlights a fenced block in its language and keeps the text", () => {
    const div = rendered("```python\ndef f(x):\n    return x + 1\n```");
    expect(highlightAll(div)).toBe(1);
    const code = div.querySelector("code")!;
    expect(code.dataset.highlighted).toBe("python");
    expect(code.querySelector(".hljs-keyword")?.textContent).toBe("def");
    expect(code.textContent).toBe("def f(x):\n    return x + 1\n");
    expect(highlightAll(div)).toBe(0); // once
  });

  it("escapes markup inside code", () => {
    const div = rendered("```html\n<img src=x onerror=alert(1)>\n```");
    highlightAll(div);
    expect(div.querySelector("img")).toBeNull();
    expect(div.textContent).toContain("<img src=x onerror=alert(1)>");
  });

  it("knows languages by class and leaves unknown plain text alone", () => {
    const code = document.createElement("code");
    code.className = "language-TS";
    expect(languageOf(code)).toBe("ts");
    code.className = "language-klingon";
    expect(languageOf(code)).toBeNull();
    const div = rendered("```\njust some words here\n```");
    expect(highlightAll(div)).toBe(0);
    expect(div.querySelector("code")!.dataset.highlighted).toBe("plain");
  });

  it("loads the highlighter lazily only when there is code", async () => {
    const prose = rendered("no code *here*");
    await highlightCode(prose);
    expect(prose.querySelector(".hljs")).toBeNull();
    const div = rendered("```js\nconst a = 1;\n```");
    await highlightCode(div);
    expect(div.querySelector("code.hljs .hljs-keyword")?.textContent).toBe("const");
  });
});
