import { lazy, Suspense, useMemo, useState } from "react";
import { makeApi } from "./api/client";
import { keyStore } from "./features/auth/storage";
import { SignIn } from "./features/auth/SignIn";

// The signed-in app (chat, Markdown, sessions, parameters, keys) loads after sign-in.
const Shell = lazy(() => import("./Shell"));

export function App({ baseUrl }: { baseUrl: string }) {
  const [apiKey, setApiKey] = useState(keyStore.get());
  const api = useMemo(() => (apiKey ? makeApi(baseUrl, apiKey) : null), [baseUrl, apiKey]);
  if (!api)
    return (
      <SignIn
        baseUrl={baseUrl}
        onSignedIn={(k) => {
          keyStore.set(k);
          setApiKey(k);
        }}
      />
    );
  return (
    <Suspense fallback={<p className="muted banner">Loading…</p>}>
      <Shell
        api={api}
        onSignOut={() => {
          keyStore.clear();
          window.location.hash = "";
          setApiKey(null);
        }}
      />
    </Suspense>
  );
}
