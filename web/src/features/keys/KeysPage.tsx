import { useCallback, useEffect, useState, type FormEvent } from "react";
import { must, type Api } from "../../api/client";
import { describeError } from "../../api/errors";
import type { ProviderKey } from "../../api/types";

interface Props {
  api: Api;
  providers: string[];
}

/** The caller's own provider keys: only the last 4 characters are ever shown. */
export function KeysPage({ api, providers }: Props) {
  const [keys, setKeys] = useState<ProviderKey[]>([]);
  const [provider, setProvider] = useState("");
  const [secret, setSecret] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const choices = [...new Set([...providers, "huggingface"])].sort();

  const load = useCallback(async () => {
    try {
      setKeys(must(await api.client.GET("/v1/me/keys")).data);
    } catch (err) {
      setError(describeError(err));
    }
  }, [api]);
  useEffect(() => {
    void load();
  }, [load]);

  async function save(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setNotice(null);
    if (!provider) return setError("Choose a provider.");
    if (secret.trim().length < 8) return setError("A key has at least 8 characters.");
    try {
      must(
        await api.client.PUT("/v1/me/keys/{provider}", {
          params: { path: { provider } },
          body: { api_key: secret.trim() },
        }),
      );
      setSecret("");
      setNotice(`Saved your ${provider} key.`);
      await load();
    } catch (err) {
      setError(describeError(err));
    }
  }

  async function remove(p: string) {
    setError(null);
    setNotice(null);
    try {
      must(await api.client.DELETE("/v1/me/keys/{provider}", { params: { path: { provider: p } } }));
      setNotice(`Deleted your ${p} key.`);
      await load();
    } catch (err) {
      setError(describeError(err));
    }
  }

  return (
    <section className="keys" aria-labelledby="keys-title">
      <h2 id="keys-title">My provider keys</h2>
      <p className="muted">
        Your own keys for providers that accept them, and your Hugging Face token. They are stored encrypted on the
        gateway; only the last 4 characters are ever shown.
      </p>
      <table className="keys-table">
        <caption className="sr-only">Stored keys</caption>
        <thead>
          <tr>
            <th scope="col">Provider</th>
            <th scope="col">Key</th>
            <th scope="col">Updated</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.length === 0 && (
            <tr>
              <td colSpan={4} className="muted">
                No keys stored.
              </td>
            </tr>
          )}
          {keys.map((k) => (
            <tr key={k.provider} data-testid={`key-${k.provider}`}>
              <td>{k.provider}</td>
              <td>
                <code>••••{k.last4}</code>
              </td>
              <td>{new Date(k.updated_at).toLocaleString()}</td>
              <td>
                <button type="button" className="danger" onClick={() => void remove(k.provider)} aria-label={`Delete ${k.provider} key`}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="card key-form" onSubmit={save}>
        <h3>Add or replace a key</h3>
        <label htmlFor="key-provider">Provider</label>
        <select id="key-provider" value={provider} onChange={(e) => setProvider(e.target.value)}>
          <option value="">Choose…</option>
          {choices.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
        <label htmlFor="key-secret">Key</label>
        <input
          id="key-secret"
          type="password"
          autoComplete="off"
          value={secret}
          onChange={(e) => setSecret(e.target.value)}
        />
        <button type="submit" className="primary">
          Save key
        </button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
    </section>
  );
}
