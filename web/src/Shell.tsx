import { useCallback, useEffect, useMemo, useState } from "react";
import { must, type Api } from "./api/client";
import { describeError } from "./api/errors";
import type { ModelCard } from "./api/types";
import { Chat } from "./features/chat/Chat";
import { KeysPage } from "./features/keys/KeysPage";
import { ModelPicker } from "./features/models/ModelPicker";
import { ParamPanel } from "./features/models/ParamPanel";
import { fieldsFromSchema, toParams, validateAll, type FormValues, type JsonSchema } from "./features/models/schemaForm";
import { Sidebar } from "./features/sessions/Sidebar";
import { ThemeToggle, useTheme } from "./Theme";

type Route = { view: "chat"; session: string | null } | { view: "keys" };

function parseHash(): Route {
  const h = window.location.hash;
  if (h === "#/keys") return { view: "keys" };
  const m = /^#\/s\/([\w-]+)$/.exec(h);
  return { view: "chat", session: m ? m[1]! : null };
}

export default function Shell({ api, onSignOut }: { api: Api; onSignOut(): void }) {
  const [route, setRoute] = useState<Route>(parseHash);
  const [models, setModels] = useState<ModelCard[]>([]);
  const [modelsError, setModelsError] = useState<string | null>(null);
  const [modelId, setModelId] = useState<string | null>(localStorage.getItem("plugai.model"));
  const [values, setValues] = useState<FormValues>({});
  const [picking, setPicking] = useState(false);
  const [showParams, setShowParams] = useState(false);
  const [showSidebar, setShowSidebar] = useState(false);
  const [refresh, setRefresh] = useState(0);
  const [theme, toggleTheme] = useTheme();

  useEffect(() => {
    const on = () => setRoute(parseHash());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);

  useEffect(() => {
    (async () => {
      try {
        const list = must(await api.client.GET("/v1/models")).data;
        setModels(list);
        setModelsError(null);
      } catch (err) {
        setModelsError(describeError(err));
        if ((err as { status?: number }).status === 401) onSignOut();
      }
    })();
  }, [api]); // eslint-disable-line react-hooks/exhaustive-deps

  const chooseModel = useCallback((id: string | null) => {
    setModelId((prev) => {
      if (prev !== id) setValues({});
      return id;
    });
    if (id) localStorage.setItem("plugai.model", id);
  }, []);

  const card = models.find((m) => m.id === modelId) ?? null;
  const fields = useMemo(() => fieldsFromSchema(card?.parameters as JsonSchema | undefined), [card]);
  const errors = useMemo(() => validateAll(fields, values), [fields, values]);
  const params = useMemo(() => toParams(fields, values), [fields, values]);
  const session = route.view === "chat" ? route.session : null;
  const providers = useMemo(() => [...new Set(models.map((m) => m.provider))].filter((p) => p !== "local"), [models]);

  const go = (hash: string) => {
    window.location.hash = hash;
    setShowSidebar(false);
  };

  const account = (
    <>
      <button
        type="button"
        onClick={() => go(route.view === "keys" ? "" : "#/keys")}
        aria-current={route.view === "keys" ? "page" : undefined}
      >
        {route.view === "keys" ? "Chat" : "My keys"}
      </button>
      <ThemeToggle theme={theme} onToggle={toggleTheme} />
      <button type="button" onClick={onSignOut}>
        Sign out
      </button>
    </>
  );

  return (
    <div className={`shell${showSidebar ? " sidebar-open" : ""}${showParams ? " params-open" : ""}`}>
      <a href="#prompt" className="skip">
        Skip to the message box
      </a>
      <header className="topbar">
        <button
          type="button"
          className="icon only-narrow"
          aria-label="Sessions"
          aria-expanded={showSidebar}
          onClick={() => setShowSidebar((v) => !v)}
        >
          ☰
        </button>
        <span className="brand">
          <img src="./icon.svg" alt="" width={24} height={24} /> <span className="wide-only">PlugAI</span>
        </span>
        <button type="button" className="model-button" onClick={() => setPicking(true)} aria-haspopup="dialog">
          <span className="sr-only">Model: </span>
          {modelId ?? "Choose a model"} ▾
        </button>
        <span className="spacer" />
        <button type="button" aria-expanded={showParams} onClick={() => setShowParams((v) => !v)}>
          Parameters{Object.keys(values).length ? ` (${Object.keys(values).length})` : ""}
        </button>
        <div className="account wide-only">{account}</div>
      </header>
      <Sidebar api={api} current={session} refresh={refresh} onSelect={(id) => go(id ? `#/s/${id}` : "#/")} onClose={() => setShowSidebar(false)}>
        <div className="account only-narrow">{account}</div>
      </Sidebar>
      <main className="main">
        {modelsError && (
          <p role="alert" className="error banner">
            Could not load the models: {modelsError}
          </p>
        )}
        {route.view === "keys" ? (
          <KeysPage api={api} providers={providers} />
        ) : (
          <Chat
            api={api}
            sessionId={session}
            modelId={modelId}
            params={params}
            paramErrors={Object.values(errors)}
            onSessionCreated={(id) => {
              window.location.hash = `#/s/${id}`;
              setRefresh((n) => n + 1);
            }}
            onSessionModel={(m) => m && chooseModel(m)}
            onTurnDone={() => setRefresh((n) => n + 1)}
          />
        )}
      </main>
      <aside className="param-drawer" aria-label="Model parameters" hidden={!showParams}>
        <button type="button" className="only-narrow" onClick={() => setShowParams(false)}>
          ✕ Close parameters
        </button>
        <ParamPanel fields={fields} values={values} errors={errors} onChange={setValues} modelId={modelId} />
      </aside>
      {picking && <ModelPicker models={models} value={modelId} onChange={chooseModel} onClose={() => setPicking(false)} />}
    </div>
  );
}
