import { useState, type FormEvent } from "react";
import { Markdown } from "./Markdown";
import type { UiMessage } from "./messages";

interface Props {
  m: UiMessage;
  /** Given for user messages that may be edited and sent again. */
  onEdit?(text: string): void;
}

export function MessageView({ m, onEdit }: Props) {
  const [copied, setCopied] = useState(false);
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(m.content);
  const copy = async () => {
    await navigator.clipboard?.writeText(m.content).catch(() => undefined);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  const save = (e: FormEvent) => {
    e.preventDefault();
    setEditing(false);
    onEdit?.(text.trim());
  };
  const editId = `edit-${m.id}`;
  return (
    <article className={`msg msg-${m.role}`} aria-busy={m.streaming || undefined} data-testid={`msg-${m.role}`}>
      <div className="msg-head">
        <span className="msg-role">{m.role === "user" ? "You" : (m.model ?? m.role)}</span>
        {m.role === "assistant" && !m.streaming && m.content && (
          <button type="button" className="link small" onClick={copy} aria-label="Copy reply">
            {copied ? "Copied" : "Copy"}
          </button>
        )}
        {onEdit && !editing && (
          <button
            type="button"
            className="link small"
            aria-label="Edit message"
            onClick={() => {
              setText(m.content);
              setEditing(true);
            }}
          >
            Edit
          </button>
        )}
      </div>
      {m.images && m.images.length > 0 && (
        <div className="msg-images">
          {m.images.map((url, i) => (
            <img key={i} src={url} alt={`Image ${i + 1} sent with this message`} loading="lazy" />
          ))}
        </div>
      )}
      {editing ? (
        <form className="edit-form" onSubmit={save}>
          <label htmlFor={editId} className="sr-only">
            Edited message
          </label>
          <textarea id={editId} rows={3} value={text} autoFocus onChange={(e) => setText(e.target.value)} />
          <div className="row">
            <button type="submit" className="primary" disabled={!text.trim() && !m.images?.length}>
              Save and resend
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
          <p className="muted small">Later turns are dropped here; the edited conversation continues in a new session.</p>
        </form>
      ) : m.role === "user" ? (
        m.content && <p className="msg-text">{m.content}</p>
      ) : (
        <Markdown text={m.content} streaming={m.streaming} />
      )}
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
