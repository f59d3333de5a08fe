// The code highlighter: highlight.js core with the common languages, in its own chunk
// (imported lazily by Markdown.tsx only when a reply contains a code block).
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import csharp from "highlight.js/lib/languages/csharp";
import css from "highlight.js/lib/languages/css";
import diff from "highlight.js/lib/languages/diff";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import kotlin from "highlight.js/lib/languages/kotlin";
import markdown from "highlight.js/lib/languages/markdown";
import php from "highlight.js/lib/languages/php";
import python from "highlight.js/lib/languages/python";
import ruby from "highlight.js/lib/languages/ruby";
import rust from "highlight.js/lib/languages/rust";
import sql from "highlight.js/lib/languages/sql";
import swift from "highlight.js/lib/languages/swift";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";

const LANGUAGES = {
  bash, c, cpp, csharp, css, diff, go, java, javascript, json, kotlin, markdown,
  php, python, ruby, rust, sql, swift, typescript, xml, yaml,
};
for (const [name, lang] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, lang);
hljs.configure({ ignoreUnescapedHTML: true });

/** The language named by a `language-xxx` class when highlight.js knows it. */
export function languageOf(code: Element): string | null {
  const m = /\blanguage-([\w+#-]+)/.exec(code.className);
  const name = m?.[1]?.toLowerCase();
  return name && hljs.getLanguage(name) ? name : null;
}

/**
 * Highlights every `pre > code` under root that is not highlighted yet: the fenced block's
 * language when known, else auto-detection among the registered languages (text that looks
 * like none of them stays plain). Only text is read; highlight.js escapes its output.
 */
export function highlightAll(root: ParentNode): number {
  let n = 0;
  root.querySelectorAll<HTMLElement>("pre > code").forEach((code) => {
    if (code.dataset.highlighted) return;
    const text = code.textContent ?? "";
    const lang = languageOf(code);
    const result = lang ? hljs.highlight(text, { language: lang }) : hljs.highlightAuto(text);
    if (!lang && result.relevance < 5) {
      code.dataset.highlighted = "plain";
      return;
    }
    code.innerHTML = result.value;
    code.classList.add("hljs");
    code.dataset.highlighted = result.language ?? "yes";
    n += 1;
  });
  return n;
}
