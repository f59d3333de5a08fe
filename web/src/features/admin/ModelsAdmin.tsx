import { useCallback, useEffect, useState } from "react";
import { ApiError } from "../../api/errors";
import { must, type Api } from "../../api/client";
import { describeError } from "../../api/errors";
import type { LoadedModel, RegistryModel, StorageUsage } from "../../api/types";
import { Downloads } from "./Downloads";
import { RegistryList } from "./RegistryList";
import { StoragePanel } from "./StoragePanel";

interface Props {
  api: Api;
  /** The model list changed (a pull finished, a model was deleted). */
  onChanged(): void;
}

/** Admins: the registry of local models, pulls with live progress, load/unload, storage. */
export default function ModelsAdmin({ api, onChanged }: Props) {
  const [models, setModels] = useState<RegistryModel[]>([]);
  const [loaded, setLoaded] = useState<LoadedModel[]>([]);
  const [runner, setRunner] = useState(true);
  const [usage, setUsage] = useState<StorageUsage | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      const [reg, use] = await Promise.all([api.client.GET("/v1/registry/models"), api.client.GET("/v1/storage")]);
      setModels(must(reg).data);
      setUsage(must(use));
      setError(null);
    } catch (err) {
      setError(describeError(err));
    }
    try {
      setLoaded(must(await api.client.GET("/v1/registry/loaded")).data);
      setRunner(true);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setRunner(false); // no local runner
      else setError(describeError(err));
    }
  }, [api]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const changed = () => {
    void refresh();
    onChanged();
  };

  return (
    <div className="page admin" aria-labelledby="admin-title">
      <h1 id="admin-title" className="page-heading">
        Models
      </h1>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <Downloads api={api} onDone={changed} />
      <RegistryList api={api} models={models} loaded={loaded} runner={runner} onChanged={changed} />
      <StoragePanel api={api} usage={usage} onCleaned={changed} />
    </div>
  );
}
