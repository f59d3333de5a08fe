import { describe, expect, it } from "vitest";
import type { Artifact } from "../../api/types";
import { formatOf, meshesOf, meshOfArtifact } from "./results";

describe("meshes", () => {
  it("come from a 3D answer", () => {
    const items = meshesOf(
      {
        created: 1,
        model: "local/shap-e",
        data: [
          {
            artifact_id: "art_m",
            url: "http://gw/v1/artifacts/art_m?s",
            format: "glb",
            mime_type: "model/gltf-binary",
            bytes: 1000,
            vertices: 8,
            faces: 12,
            preview: { artifact_id: "art_p", url: "http://gw/v1/artifacts/art_p?s" },
          },
        ],
      },
      "a chair",
      "x",
    );
    expect(items).toEqual([
      {
        id: "art_m",
        url: "http://gw/v1/artifacts/art_m?s",
        format: "glb",
        model: "local/shap-e",
        prompt: "a chair",
        vertices: 8,
        faces: 12,
        bytes: 1000,
        previewUrl: "http://gw/v1/artifacts/art_p?s",
      },
    ]);
  });

  it("come from stored artifacts, with their previews", () => {
    const a = { id: "art_m", url: "u", format: "ply", mime_type: "application/ply", model: "m", bytes: 5, vertices: 3, faces: 1, preview_id: "art_p", metadata: { prompt: "p" } } as unknown as Artifact;
    expect(meshOfArtifact(a, new Map([["art_p", "pu"]]))).toMatchObject({ format: "ply", previewUrl: "pu", prompt: "p" });
    expect(meshOfArtifact({ ...a, preview_id: null }, new Map()).previewUrl).toBeNull();
  });

  it("knows the format from the field or the MIME type", () => {
    expect(formatOf("obj")).toBe("obj");
    expect(formatOf(null, "model/gltf-binary")).toBe("glb");
    expect(formatOf(undefined, "application/ply")).toBe("ply");
    expect(formatOf("stl", "model/obj")).toBe("obj");
  });
});
