import { describe, expect, it } from "vitest";
import { parseHash } from "./routes";

describe("parseHash", () => {
  it("maps hashes to screens", () => {
    expect(parseHash("")).toEqual({ view: "chat", session: null });
    expect(parseHash("#/s/ses_abc-1")).toEqual({ view: "chat", session: "ses_abc-1" });
    expect(parseHash("#/keys")).toEqual({ view: "keys" });
    expect(parseHash("#/images")).toEqual({ view: "images" });
    expect(parseHash("#/3d")).toEqual({ view: "mesh" });
    expect(parseHash("#/models")).toEqual({ view: "models" });
    expect(parseHash("#/nope")).toEqual({ view: "chat", session: null });
  });
});
