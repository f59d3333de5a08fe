import { useState } from "react";
import { Markdown } from "./Markdown";
import type { UiMessage } from "./messages";

export function MessageView({ m }: { m: UiMessage }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard?.writeText(m.content).catch(() => undefined);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <article className={`msg msg-${m.role}`} aria-busy={m.streaming || undefined} data-testid={`msg-${m.role}`}>
      <div className="msg-head">
        <span className="msg-role">{m.role === "user" ? "You" : (m.model ?? m.role)}</span>
        {m.role === "assistant" && !m.streaming && m.content && (
          <button type="button" className="link small" onClick={copy} aria-label="Copy reply">
            {copied ? "Copied" : "Copy"}
          </button>
        )}
      </div>
      {m.role === "user" ? <p className="msg-text">{m.content}</p> : <Markdown text={m.content} />}
      {m.streaming && !m.content && <p className="muted small">Thinking…</p>}
      {m.stopped && <p className="muted small">Stopped.</p>}
      {m.error && (
        <p className="error small" role="alert">
          {m.error}
        </p>
      )}
      {m.usage && (
        <p className="muted small usage" data-testid="usage">
          {m.usage.prompt_tokens} in · {m.usage.completion_tokens} out · {m.usage.total_tokens} tokens
        </p>
      )}
    </article>
  );
}
