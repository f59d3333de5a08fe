import { useCallback, useEffect, useState, type ReactNode } from "react";
import { must, type Api } from "../../api/client";
import { describeError } from "../../api/errors";
import type { Session } from "../../api/types";

interface Props {
  api: Api;
  current: string | null;
  refresh: number;
  onSelect(id: string | null): void;
  onClose(): void;
  /** Shown first (phones: the app's sections). */
  header?: ReactNode;
  /** Shown last (phones: account actions). */
  children?: ReactNode;
}

/** The user's sessions: list, search, rename, close, delete. */
export function Sidebar({ api, current, refresh, onSelect, onClose, header, children }: Props) {
  const [sessions, setSessions] = useState<Session[]>([]);
  const [search, setSearch] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [title, setTitle] = useState("");

  const load = useCallback(async () => {
    try {
      const q = search.trim() || undefined;
      const page = must(await api.client.GET("/v1/sessions", { params: { query: { limit: 100, q } } }));
      setSessions(page.data);
      setError(null);
    } catch (err) {
      setError(describeError(err));
    }
  }, [api, search]);

  useEffect(() => {
    const t = setTimeout(() => void load(), search ? 250 : 0);
    return () => clearTimeout(t);
  }, [load, refresh, search]);

  async function act(f: () => Promise<unknown>) {
    try {
      await f();
      await load();
    } catch (err) {
      setError(describeError(err));
    }
  }
  const path = (id: string) => ({ params: { path: { session_id: id } } });

  const rename = (s: Session) =>
    act(async () => {
      must(await api.client.PATCH("/v1/sessions/{session_id}", { ...path(s.id), body: { title: title.trim() } }));
      setEditing(null);
    });
  const close = (s: Session) => act(async () => must(await api.client.POST("/v1/sessions/{session_id}/close", path(s.id))));
  const remove = (s: Session) =>
    act(async () => {
      if (!window.confirm(`Delete “${s.title || "Untitled"}” and its messages?`)) return;
      must(await api.client.DELETE("/v1/sessions/{session_id}", path(s.id)));
      if (s.id === current) onSelect(null);
    });

  return (
    <nav className="sidebar" aria-label="Sessions">
      <button type="button" className="only-narrow" onClick={onClose}>
        ✕ Close menu
      </button>
      {header}
      <button type="button" className="primary wide" onClick={() => onSelect(null)}>
        + New chat
      </button>
      <label htmlFor="session-search" className="sr-only">
        Search sessions
      </label>
      <input
        id="session-search"
        type="search"
        placeholder="Search sessions"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
      />
      {error && (
        <p role="alert" className="error small">
          {error}
        </p>
      )}
      <ul className="session-list">
        {sessions.length === 0 && !error && <li className="muted small">No sessions yet.</li>}
        {sessions.map((s) => (
          <li key={s.id} className={s.id === current ? "active" : undefined}>
            {editing === s.id ? (
              <form
                className="row"
                onSubmit={(e) => {
                  e.preventDefault();
                  void rename(s);
                }}
              >
                <label htmlFor={`rename-${s.id}`} className="sr-only">
                  New title
                </label>
                <input
                  id={`rename-${s.id}`}
                  value={title}
                  autoFocus
                  onChange={(e) => setTitle(e.target.value)}
                  onKeyDown={(e) => e.key === "Escape" && setEditing(null)}
                />
                <button type="submit">Save</button>
              </form>
            ) : (
              <>
                <button
                  type="button"
                  className="session-open"
                  aria-current={s.id === current ? "page" : undefined}
                  onClick={() => onSelect(s.id)}
                >
                  <span className="session-title">{s.title || "Untitled"}</span>
                  <span className="muted small">
                    {s.message_count} messages{s.closed ? " · closed" : ""}
                  </span>
                </button>
                <div className="session-actions">
                  <button
                    type="button"
                    className="link small"
                    onClick={() => {
                      setEditing(s.id);
                      setTitle(s.title);
                    }}
                    aria-label={`Rename ${s.title || "Untitled"}`}
                  >
                    Rename
                  </button>
                  {!s.closed && (
                    <button type="button" className="link small" onClick={() => void close(s)} aria-label={`Close ${s.title || "Untitled"}`}>
                      Close
                    </button>
                  )}
                  <button type="button" className="link small danger" onClick={() => void remove(s)} aria-label={`Delete ${s.title || "Untitled"}`}>
                    Delete
                  </button>
                </div>
              </>
            )}
          </li>
        ))}
      </ul>
      {children}
    </nav>
  );
}
