import DOMPurify from "dompurify";
import { marked } from "marked";
import { useEffect, useMemo, useRef } from "react";

marked.setOptions({ gfm: true, breaks: true });

/** Markdown to sanitised HTML (marked + DOMPurify). */
export function renderMarkdown(text: string): string {
  return DOMPurify.sanitize(marked.parse(text, { async: false }));
}

/** Puts a "Copy code" button on each code block. */
export function addCopyButtons(root: HTMLElement): void {
  root.querySelectorAll("pre").forEach((pre) => {
    if (pre.querySelector(".code-copy")) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "code-copy link small";
    button.textContent = "Copy code";
    button.onclick = () => {
      const code = pre.querySelector("code")?.textContent ?? "";
      void navigator.clipboard
        ?.writeText(code)
        .then(() => {
          button.textContent = "Copied";
          setTimeout(() => (button.textContent = "Copy code"), 1500);
        })
        .catch(() => undefined);
    };
    pre.prepend(button);
  });
}

/** Loads the highlighter chunk (once) and highlights the code blocks under root. */
export function highlightCode(root: HTMLElement): Promise<void> {
  if (!root.querySelector("pre > code:not([data-highlighted])")) return Promise.resolve();
  return import("./highlight").then(({ highlightAll }) => {
    if (root.isConnected) highlightAll(root);
  });
}

/** A reply as Markdown; code blocks get a copy button, and highlighting once complete. */
export function Markdown({ text, streaming = false }: { text: string; streaming?: boolean }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    addCopyButtons(ref.current);
    if (!streaming) highlightCode(ref.current).catch(() => undefined); // offline: stays plain
  }, [html, streaming]);
  return <div ref={ref} className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}
