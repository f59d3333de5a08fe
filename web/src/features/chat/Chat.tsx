import { useEffect, useRef, useState } from "react";
import { must, type Api } from "../../api/client";
import { describeError } from "../../api/errors";
import { streamChat } from "../../api/sse";
import type { ChatMessage, ChatRequest, ModelCard } from "../../api/types";
import { visionRefusal } from "./attachments";
import { Composer } from "./Composer";
import { fromStored, historyBefore, newId, wireContent, type UiMessage } from "./messages";
import { MessageView } from "./MessageView";

interface Props {
  api: Api;
  sessionId: string | null;
  modelId: string | null;
  card: ModelCard | null;
  params: Record<string, unknown>;
  paramErrors: string[];
  onSessionCreated(id: string): void;
  onSessionModel(model: string | null): void;
  onTurnDone(): void;
}

/** What a new session copies from the one it branches off (edit-and-resend). */
interface SessionInfo {
  title: string;
  system_prompt: string | null;
  params: Record<string, unknown>;
}

/** A turn to run: the transcript before the reply, the messages to send, where to store it. */
interface TurnPlan {
  shown: UiMessage[];
  send: ChatMessage[];
  /** Start a new session (the first chat, or an edit that branches the conversation). */
  newSession?: { title: string; system_prompt?: string | null; metadata: Record<string, unknown> };
}

async function loadAll(api: Api, id: string) {
  const path = { session_id: id };
  const first = must(await api.client.GET("/v1/sessions/{session_id}", { params: { path, query: { limit: 1000 } } }));
  const data = [...first.messages.data];
  let more = first.messages.has_more;
  while (more && data.length) {
    const after = data[data.length - 1]!.seq;
    const page = must(await api.client.GET("/v1/sessions/{session_id}", { params: { path, query: { limit: 1000, after } } }));
    data.push(...page.messages.data);
    more = page.messages.has_more && page.messages.data.length > 0;
  }
  return { ...first, messages: { ...first.messages, data } };
}

/** Streaming chat over a server-side session. */
export function Chat({ api, sessionId, modelId, card, params, paramErrors, onSessionCreated, onSessionModel, onTurnDone }: Props) {
  const [messages, setMessages] = useState<UiMessage[]>([]);
  const [closed, setClosed] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const ownSession = useRef<string | null>(null); // created here: messages already on screen
  const info = useRef<SessionInfo | null>(null);
  const end = useRef<HTMLDivElement>(null);
  const refusal = visionRefusal(card);

  useEffect(() => setError(null), [modelId]);

  useEffect(() => {
    setError(null);
    if (sessionId && sessionId === ownSession.current) return; // just created here
    setNotice(null);
    abort.current?.abort(); // another session: stop streaming into this one
    ownSession.current = null;
    info.current = null;
    if (!sessionId) {
      setMessages([]);
      setClosed(false);
      return;
    }
    let live = true;
    (async () => {
      try {
        const s = await loadAll(api, sessionId);
        if (!live) return;
        setMessages(s.messages.data.filter((m) => m.role !== "system").map(fromStored));
        setClosed(s.closed);
        info.current = { title: s.title, system_prompt: s.system_prompt, params: s.params };
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

  function check(images: readonly string[]): boolean {
    if (!modelId) return setError("Choose a model first."), false;
    if (paramErrors.length) return setError(`Fix the parameters first: ${paramErrors.join(" ")}`), false;
    if (images.length && refusal) return setError(refusal), false;
    return true;
  }

  async function run(plan: TurnPlan) {
    if (!modelId) return;
    setError(null);
    setBusy(true);
    const reply: UiMessage = { id: newId(), role: "assistant", content: "", streaming: true, model: modelId };
    setMessages([...plan.shown, reply]);
    const ctrl = new AbortController();
    abort.current = ctrl;
    try {
      let sid = sessionId;
      if (!sid || plan.newSession) {
        const n = plan.newSession ?? { title: "", metadata: {} };
        const s = must(
          await api.client.POST("/v1/sessions", {
            body: { title: n.title, model: modelId, params, system_prompt: n.system_prompt ?? null, metadata: n.metadata },
          }),
        );
        sid = s.id;
        ownSession.current = sid;
        info.current = { title: s.title, system_prompt: s.system_prompt, params: s.params };
        onSessionCreated(sid);
      }
      const body = { ...params, model: modelId, session_id: sid, messages: plan.send } as ChatRequest;
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

  function send(text: string, images: string[]) {
    if (!check(images)) return;
    const user: UiMessage = { id: newId(), role: "user", content: text, images: images.length ? images : undefined };
    setNotice(null);
    void run({
      shown: [...messages, user],
      send: [{ role: "user", content: wireContent(text, images) }],
      newSession: sessionId ? undefined : { title: (text || "Image").slice(0, 80), metadata: {} },
    });
  }

  function regenerate() {
    const lastUser = [...messages].reverse().find((m) => m.role === "user");
    if (!lastUser || !check(lastUser.images ?? [])) return;
    void run({
      shown: messages.slice(0, -1),
      send: [{ role: "user", content: wireContent(lastUser.content, lastUser.images) }],
    });
  }

  /**
   * Edit-and-resend. A stored session can't be cut short through the API, so the edited
   * conversation continues in a new session (a branch) that gets the turns before the edit;
   * the original session stays as it was.
   */
  function editAndResend(id: string, text: string) {
    const index = messages.findIndex((m) => m.id === id);
    const old = messages[index];
    if (!old || old.role !== "user" || busy) return;
    const images = old.images ?? [];
    if (!text && !images.length) return;
    if (!check(images)) return;
    const edited: UiMessage = { ...old, id: newId(), content: text };
    const from = info.current;
    const title = `${from?.title || text.slice(0, 70) || "Chat"} (edited)`.slice(0, 500);
    setNotice(sessionId ? "Edited: the conversation continues in a new session; the original is kept." : null);
    void run({
      shown: [...messages.slice(0, index), edited],
      send: [...historyBefore(messages, index), { role: "user", content: wireContent(text, images) }],
      newSession: {
        title,
        system_prompt: from?.system_prompt ?? null,
        metadata: sessionId ? { branched_from: sessionId, edited_message: index } : {},
      },
    });
  }

  const last = messages[messages.length - 1];
  const canEdit = !busy && !closed;

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
          <MessageView key={m.id} m={m} onEdit={canEdit && m.role === "user" ? (text) => editAndResend(m.id, text) : undefined} />
        ))}
        <div ref={end} />
      </div>
      {notice && (
        <p role="status" className="notice banner">
          {notice}
        </p>
      )}
      {error && (
        <p role="alert" className="error banner">
          {error}
        </p>
      )}
      {closed ? (
        <p className="muted banner">This session is closed (read-only). Start a new chat to continue.</p>
      ) : (
        <Composer
          modelId={modelId}
          busy={busy}
          visionRefusal={refusal}
          canRegenerate={last?.role === "assistant" && messages.some((m) => m.role === "user")}
          onSend={send}
          onStop={() => abort.current?.abort()}
          onRegenerate={regenerate}
          onError={setError}
        />
      )}
    </section>
  );
}
