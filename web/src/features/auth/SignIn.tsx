import { useState, type FormEvent } from "react";
import { makeApi, must } from "../../api/client";
import { describeError } from "../../api/errors";

interface Props {
  baseUrl: string;
  onSignedIn(key: string): void;
}

/** Sign in with a PlugAI API key: checked against GET /v1/me before it is kept. */
export function SignIn({ baseUrl, onSignedIn }: Props) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError("Enter your PlugAI API key.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      must(await makeApi(baseUrl, trimmed).client.GET("/v1/me"));
      onSignedIn(trimmed);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <form className="card signin-card" onSubmit={submit} aria-describedby="signin-help">
        <h1>
          <img src="./icon.svg" alt="" width={32} height={32} /> PlugAI
        </h1>
        <p id="signin-help">Sign in with your PlugAI API key. It stays in this browser only.</p>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="current-password"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          placeholder="sk-…"
          autoFocus
        />
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
        <p className="muted small">Gateway: {baseUrl || window.location.origin}</p>
      </form>
    </main>
  );
}
