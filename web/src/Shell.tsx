import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { must, type Api } from "./api/client";
import { describeError } from "./api/errors";
import type { ModelCard } from "./api/types";
import { Chat } from "./features/chat/Chat";
import { KeysPage } from "./features/keys/KeysPage";
import { ModelPicker } from "./features/models/ModelPicker";
import { ParamPanel } from "./features/models/ParamPanel";
import { fieldsFromSchema, toParams, validateAll, type FormValues, type JsonSchema } from "./features/models/schemaForm";
import { Sidebar } from "./features/sessions/Sidebar";
import { parseHash, SECTIONS, type Route } from "./routes";
import { ThemeToggle, useTheme } from "./Theme";

// Studios and admin screens load when first opened (the 3D viewer in a chunk of its own).
const ImageStudio = lazy(() => import("./features/images/ImageStudio"));
const MeshStudio = lazy(() => import("./features/mesh/MeshStudio"));
const ModelsAdmin = lazy(() => import("./features/admin/ModelsAdmin"));

const TITLES: Record<Route["view"], string> = {
  chat: "Chat",
  keys: "My keys",
  images: "Image studio",
  mesh: "3D studio",
  models: "Models",
};

export default function Shell({ api, onSignOut }: { api: Api; onSignOut(): void }) {
  const [route, setRoute] = useState<Route>(() => parseHash(window.location.hash));
  const [models, setModels] = useState<ModelCard[]>([]);
  const [modelsError, setModelsError] = useState<string | null>(null);
  const [isAdmin, setIsAdmin] = useState<boolean | null>(null); // null: not known yet
  const [modelId, setModelId] = useState<string | null>(localStorage.getItem("plugai.model"));
  const [values, setValues] = useState<FormValues>({});
  const [picking, setPicking] = useState(false);
  const [showParams, setShowParams] = useState(false);
  const [showSidebar, setShowSidebar] = useState(false);
  const [refresh, setRefresh] = useState(0);
  const [theme, toggleTheme] = useTheme();

  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);

  const loadModels = useCallback(async () => {
    try {
      setModels(must(await api.client.GET("/v1/models")).data);
      setModelsError(null);
    } catch (err) {
      setModelsError(describeError(err));
      if ((err as { status?: number }).status === 401) onSignOut();
    }
  }, [api]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    void loadModels();
    (async () => {
      try {
        setIsAdmin(must(await api.client.GET("/v1/me")).role === "admin");
      } catch {
        setIsAdmin(false);
      }
    })();
  }, [api, loadModels]);

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
  const chat = route.view === "chat";

  const go = (hash: string) => {
    window.location.hash = hash;
    setShowSidebar(false);
  };

  const sections = (
    <nav className="sections" aria-label="Sections">
      {SECTIONS.filter((s) => !("admin" in s) || isAdmin).map((s) => (
        <a
          key={s.view}
          href={s.hash}
          className="section-link"
          aria-current={route.view === s.view ? "page" : undefined}
          onClick={() => setShowSidebar(false)}
        >
          {s.label}
        </a>
      ))}
    </nav>
  );

  const account = (
    <>
      <button type="button" onClick={() => go(route.view === "keys" ? "" : "#/keys")} aria-current={route.view === "keys" ? "page" : undefined}>
        {route.view === "keys" ? "Chat" : "My keys"}
      </button>
      <ThemeToggle theme={theme} onToggle={toggleTheme} />
      <button type="button" onClick={onSignOut}>
        Sign out
      </button>
    </>
  );

  let page;
  switch (route.view) {
    case "keys":
      page = <KeysPage api={api} providers={providers} />;
      break;
    case "images":
      page = <ImageStudio api={api} models={models} />;
      break;
    case "mesh":
      page = <MeshStudio api={api} models={models} />;
      break;
    case "models":
      page =
        isAdmin === null ? (
          <p className="muted banner">Loading…</p>
        ) : isAdmin ? (
          <ModelsAdmin api={api} onChanged={() => void loadModels()} />
        ) : (
          <p className="muted banner">Only admins manage models.</p>
        );
      break;
    default:
      page = (
        <Chat
          api={api}
          sessionId={session}
          modelId={modelId}
          card={card}
          params={params}
          paramErrors={Object.values(errors)}
          onSessionCreated={(id) => {
            window.location.hash = `#/s/${id}`;
            setRefresh((n) => n + 1);
          }}
          onSessionModel={(m) => m && chooseModel(m)}
          onTurnDone={() => setRefresh((n) => n + 1)}
        />
      );
  }

  return (
    <div className={`shell${showSidebar ? " sidebar-open" : ""}${showParams && chat ? " params-open" : ""}`}>
      <a href={chat ? "#prompt" : "#main"} className="skip">
        {chat ? "Skip to the message box" : "Skip to the content"}
      </a>
      <header className="topbar">
        <button
          type="button"
          className="icon only-narrow"
          aria-label="Menu"
          aria-expanded={showSidebar}
          onClick={() => setShowSidebar((v) => !v)}
        >
          ☰
        </button>
        <span className="brand">
          <img src="./icon.svg" alt="" width={24} height={24} /> <span className="wide-only">PlugAI</span>
        </span>
        <div className="wide-only">{sections}</div>
        {chat ? (
          <button type="button" className="model-button" onClick={() => setPicking(true)} aria-haspopup="dialog">
            <span className="sr-only">Model: </span>
            {modelId ?? "Choose a model"} ▾
          </button>
        ) : (
          <span className="page-title only-narrow">{TITLES[route.view]}</span>
        )}
        <span className="spacer" />
        {chat && (
          <button type="button" aria-expanded={showParams} onClick={() => setShowParams((v) => !v)}>
            Parameters{Object.keys(values).length ? ` (${Object.keys(values).length})` : ""}
          </button>
        )}
        <div className="account wide-only">{account}</div>
      </header>
      <Sidebar
        api={api}
        current={session}
        refresh={refresh}
        onSelect={(id) => go(id ? `#/s/${id}` : "#/")}
        onClose={() => setShowSidebar(false)}
        header={<div className="only-narrow">{sections}</div>}
      >
        <div className="account only-narrow">{account}</div>
      </Sidebar>
      <main className="main" id="main" tabIndex={-1}>
        {modelsError && (
          <p role="alert" className="error banner">
            Could not load the models: {modelsError}
          </p>
        )}
        <Suspense fallback={<p className="muted banner">Loading…</p>}>{page}</Suspense>
      </main>
      {chat && (
        <aside className="param-drawer" aria-label="Model parameters" hidden={!showParams}>
          <button type="button" className="only-narrow" onClick={() => setShowParams(false)}>
            ✕ Close parameters
          </button>
          <ParamPanel fields={fields} values={values} errors={errors} onChange={setValues} modelId={modelId} />
        </aside>
      )}
      {picking && <ModelPicker models={models} value={modelId} onChange={chooseModel} onClose={() => setPicking(false)} />}
    </div>
  );
}
