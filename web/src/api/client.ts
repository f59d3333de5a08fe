import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";
import { ApiError, apiError, networkError } from "./errors";

export interface RuntimeConfig {
  /** Where the gateway lives; empty = the origin that serves the app. */
  apiBaseUrl: string;
}

/** Reads the optional config.json beside index.html (for an app hosted away from the gateway). */
export async function loadConfig(): Promise<RuntimeConfig> {
  try {
    const res = await fetch(new URL("config.json", document.baseURI), { cache: "no-store" });
    if (res.ok) {
      const data = (await res.json()) as Partial<RuntimeConfig>;
      return { apiBaseUrl: (data.apiBaseUrl ?? "").replace(/\/+$/, "") };
    }
  } catch {
    /* no config.json: same origin */
  }
  return { apiBaseUrl: "" };
}

export type Api = ReturnType<typeof makeApi>;

/** A typed client (openapi-fetch over the generated schema) that throws ApiError on failure. */
export function makeApi(baseUrl: string, apiKey: string) {
  const auth: Middleware = {
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${apiKey}`);
      return request;
    },
    async onResponse({ response }) {
      if (response.ok) return response;
      const body: unknown = await response
        .clone()
        .json()
        .catch(() => null);
      throw apiError(response.status, body, response.headers.get("X-Request-ID"));
    },
    onError() {
      return networkError(baseUrl);
    },
  };
  const client = createClient<paths>({ baseUrl: baseUrl || window.location.origin });
  client.use(auth);
  return { client, baseUrl, apiKey };
}

/** Unwraps an openapi-fetch result, throwing the middleware's ApiError (or a generic one). */
export function must<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data !== undefined) return result.data;
  if (result.error instanceof ApiError) throw result.error;
  throw apiError(result.response.status, result.error, result.response.headers.get("X-Request-ID"));
}
