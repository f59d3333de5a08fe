import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { must, type Api } from "../../api/client";
import { describeError } from "../../api/errors";
import { streamChat } from "../../api/sse";
import type { ChatRequest } from "../../api/types";
import { fromStored, newId, type UiMessage } from "./messages";
import { MessageView } from "./MessageView";

interface Props {
  api: Api;
  sessionId: string | null;
  modelId: string | null;
  params: Record<string, unknown>;
  paramErrors: string[];
  onSessionCreated(id: string): void;
  onSessionModel(model: string | null): void;
  onTurnDone(): void;
}

/** Streaming chat over a server-side session. */
export function Chat({ api, sessionId, modelId, params, paramErrors, onSessionCreated, onSessionModel, onTurnDone }: Props) {
  const [messages, setMessages] = useState<UiMessage[]>([]);
  const [closed, setClosed] = useState(false);
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const ownSession = useRef<string | null>(null); // created here: messages already on screen
  const end = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setError(null);
    if (sessionId && sessionId === ownSession.current) return; // just created here
    abort.current?.abort(); // another session: stop streaming into this one
    ownSession.current = null;
    if (!sessionId) {
      setMessages([]);
      setClosed(false);
      return;
    }
    let live = true;
    (async () => {
      try {
        const s = must(await api.client.GET("/v1/sessions/{session_id}", { params: { path: { session_id: sessionId } } }));
        if (!live) return;
        setMessages(s.messages.data.filter((m) => m.role !== "system").map(fromStored));
        setClosed(s.closed);
        onSessionModel(s.model ?? null);
      } catch (err) {
        if (live) setError(describeError(err));
      }
    })();
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, sessionId]);

  useEffect(() => {
    end.current?.scrollIntoView({ block: "end" }); // returns a Promise in new Chromium: no cleanup
  }, [messages]);

  const patch = (id: string, f: (m: UiMessage) => UiMessage) =>
    setMessages((ms) => ms.map((m) => (m.id === id ? f(m) : m)));

  async function send(text: string, replaceLast = false) {
    if (!modelId) return setError("Choose a model first.");
    if (paramErrors.length) return setError(`Fix the parameters first: ${paramErrors.join(" ")}`);
    setError(null);
    setBusy(true);
    const reply: UiMessage = { id: newId(), role: "assistant", content: "", streaming: true, model: modelId };
    setMessages((ms) => {
      const base = replaceLast ? ms.slice(0, -1) : [...ms, { id: newId(), role: "user" as const, content: text }];
      return [...base, reply];
    });
    const ctrl = new AbortController();
    abort.current = ctrl;
    try {
      let sid = sessionId;
      if (!sid) {
        const s = must(
          await api.client.POST("/v1/sessions", { body: { title: text.slice(0, 80), model: modelId, params, metadata: {} } }),
        );
        sid = s.id;
        ownSession.current = sid;
        onSessionCreated(sid);
      }
      const body = { ...params, model: modelId, session_id: sid, messages: [{ role: "user", content: text }] } as ChatRequest;
      const { usage } = await streamChat(
        api.baseUrl,
        api.apiKey,
        body,
        { onDelta: (d) => patch(reply.id, (m) => ({ ...m, content: m.content + d })) },
        ctrl.signal,
      );
      patch(reply.id, (m) => ({ ...m, streaming: false, usage }));
    } catch (err) {
      if (ctrl.signal.aborted) patch(reply.id, (m) => ({ ...m, streaming: false, stopped: true }));
      else patch(reply.id, (m) => ({ ...m, streaming: false, error: describeError(err) }));
    } finally {
      abort.current = null;
      setBusy(false);
      onTurnDone();
    }
  }

  function submit(e?: FormEvent) {
    e?.preventDefault();
    const text = draft.trim();
    if (!text || busy) return;
    setDraft("");
    void send(text);
  }

  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) submit();
  }

  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  const last = messages[messages.length - 1];

  return (
    <section className="chat" aria-label="Chat">
      <div className="messages" aria-live="polite" aria-relevant="additions text">
        {messages.length === 0 && (
          <div className="empty">
            <h2>{modelId ? `Chat with ${modelId}` : "Choose a model to start"}</h2>
            <p className="muted">Every chat is saved as a session on your gateway: resume it on any device.</p>
          </div>
        )}
        {messages.map((m) => (
          <MessageView key={m.id} m={m} />
        ))}
        <div ref={end} />
      </div>
      {error && (
        <p role="alert" className="error banner">
          {error}
        </p>
      )}
      {closed ? (
        <p className="muted banner">This session is closed (read-only). Start a new chat to continue.</p>
      ) : (
        <form className="composer" onSubmit={submit}>
          <label htmlFor="prompt" className="sr-only">
            Message
          </label>
          <textarea
            id="prompt"
            rows={2}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={onKey}
            placeholder={modelId ? "Message… (Enter to send, Shift+Enter for a new line)" : "Choose a model first"}
          />
          <div className="composer-actions">
            {busy ? (
              <button type="button" onClick={() => abort.current?.abort()}>
                Stop
              </button>
            ) : (
              <>
                {last?.role === "assistant" && lastUser && (
                  <button type="button" onClick={() => void send(lastUser.content, true)} title="Ask again: the prompt is sent as a new turn">
                    Regenerate
                  </button>
                )}
                <button type="submit" className="primary" disabled={!draft.trim() || !modelId}>
                  Send
                </button>
              </>
            )}
          </div>
        </form>
      )}
    </section>
  );
}
