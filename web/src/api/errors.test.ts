import { describe, expect, it } from "vitest";
import { ApiError, apiError, describeError, networkError } from "./errors";

describe("apiError", () => {
  it("explains a bad key in plain words, whatever the server says", () => {
    const e = apiError(401, { error: { message: "Incorrect API key provided.", code: "invalid_api_key" } }, "rid-1");
    expect(e.message).toMatch(/API key was not accepted/);
    expect(describeError(e)).toMatch(/\(request id rid-1\)$/);
  });

  it("keeps the gateway's message for request errors", () => {
    const e = apiError(400, { error: { message: "temperature: must be at most 2", param: "temperature" } }, null);
    expect(e.message).toBe("temperature: must be at most 2");
    expect(describeError(e)).toBe("temperature: must be at most 2");
  });

  it("adds context for server-side failures", () => {
    expect(apiError(503, { error: { message: "All deployments are cooling down." } }, "r").message).toBe(
      "The model or its provider is unavailable right now. All deployments are cooling down.",
    );
    expect(apiError(502, null, null).message).toBe("The model's provider failed to answer.");
    expect(apiError(418, "teapot", null).message).toBe("The request failed (HTTP 418).");
    expect(apiError(422, { detail: "bad" }, null).message).toBe("bad");
  });

  it("names the unreachable gateway", () => {
    const e = networkError("http://gw.example:8080");
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(0);
    expect(e.message).toMatch(/Can't reach the PlugAI gateway at http:\/\/gw.example:8080/);
  });

  it("describes anything thrown", () => {
    expect(describeError(new Error("boom"))).toBe("boom");
    expect(describeError("plain")).toBe("plain");
  });
});
