import { useCallback, useEffect, useState } from "react";
import { must, type Api } from "../../api/client";
import { ApiError, describeError } from "../../api/errors";
import type { Artifact } from "../../api/types";

type Kind = "image" | "mesh" | "preview";

/** The user's artifacts of one kind, newest first, a page at a time. */
export function useArtifacts(api: Api, kind: Kind) {
  const [items, setItems] = useState<Artifact[]>([]);
  const [more, setMore] = useState(false);
  const [available, setAvailable] = useState(true);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (after?: string) => {
      try {
        const page = must(await api.client.GET("/v1/artifacts", { params: { query: { kind, limit: 24, after } } }));
        setItems((list) => (after ? [...list, ...page.data] : page.data));
        setMore(page.has_more);
        setError(null);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404 && !after) setAvailable(false); // an older gateway
        else setError(describeError(err));
      }
    },
    [api, kind],
  );

  useEffect(() => {
    void load();
  }, [load]);

  const remove = async (id: string) => {
    try {
      must(await api.client.DELETE("/v1/artifacts/{artifact_id}", { params: { path: { artifact_id: id } } }));
      setItems((list) => list.filter((a) => a.id !== id));
    } catch (err) {
      setError(describeError(err));
    }
  };

  return {
    items,
    more,
    available,
    error,
    reload: () => load(),
    loadMore: () => load(items[items.length - 1]?.id),
    remove,
  };
}
