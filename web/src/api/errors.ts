/** An API failure in words a person understands, with the request id to quote. */
export class ApiError extends Error {
  readonly status: number;
  readonly requestId: string | null;
  readonly code: string | null;

  constructor(message: string, status: number, requestId: string | null = null, code: string | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.requestId = requestId;
    this.code = code;
  }
}

interface Envelope {
  error?: { message?: string; code?: string | null; type?: string } | string;
  detail?: unknown;
}

const BY_STATUS: Record<number, string> = {
  401: "This API key was not accepted. Check it, or ask your PlugAI admin for a new one.",
  403: "Your key is not allowed to do this.",
  404: "Not found.",
  413: "The request is too large for the gateway.",
  429: "Too many requests right now. Wait a moment and try again.",
  500: "The gateway hit an internal error.",
  502: "The model's provider failed to answer.",
  503: "The model or its provider is unavailable right now.",
  504: "The model's provider took too long to answer.",
};

/** Builds an ApiError from a status, the parsed body (if any) and the X-Request-ID header. */
export function apiError(status: number, body: unknown, requestId: string | null): ApiError {
  const env = (body ?? {}) as Envelope;
  let detail: string | undefined;
  let code: string | null = null;
  if (typeof env.error === "string") detail = env.error;
  else if (env.error && typeof env.error === "object") {
    detail = env.error.message;
    code = env.error.code ?? null;
  } else if (typeof env.detail === "string") detail = env.detail;
  const general = BY_STATUS[status] ?? (status >= 500 ? "The gateway failed." : `The request failed (HTTP ${status}).`);
  let message = status === 401 ? general : detail ? detail : general;
  if (status >= 500 && detail && detail !== general) message = `${general} ${detail}`;
  return new ApiError(message, status, requestId, code);
}

/** A fetch that never reached the gateway (down, wrong URL, CORS, offline). */
export function networkError(baseUrl: string): ApiError {
  const where = baseUrl || window.location.origin;
  return new ApiError(
    `Can't reach the PlugAI gateway at ${where}. Check that it is running and that this address is right (and, for an app hosted elsewhere, that the gateway allows this origin in server.cors_origins).`,
    0,
  );
}

/** The text to show for any thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.requestId ? `${err.message} (request id ${err.requestId})` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
