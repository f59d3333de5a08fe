import { describe, expect, it } from "vitest";
import type { Artifact } from "../../api/types";
import { pictureOfArtifact, picturesOf } from "./results";

describe("gallery pictures", () => {
  it("come from b64_json, data: URLs and signed URLs", () => {
    const pics = picturesOf(
      {
        created: 1,
        data: [
          { b64_json: "AAA" },
          { url: "data:image/webp;base64,BBB", revised_prompt: "a fox, detailed" },
          { url: "http://gw/v1/artifacts/art_1?sig", artifact_id: "art_1" },
          {},
        ],
      },
      "a fox",
      "m",
      0,
    );
    expect(pics.map((p) => p.src)).toEqual(["data:image/png;base64,AAA", "data:image/webp;base64,BBB", "http://gw/v1/artifacts/art_1?sig"]);
    expect(pics[0]!.filename).toBe("plugai-0-0.png");
    expect(pics[1]!.filename).toBe("plugai-0-1.webp");
    expect(pics[1]!.prompt).toBe("a fox, detailed");
    expect(pics[2]).toMatchObject({ key: "art_1", artifactId: "art_1", filename: "plugai-art_1.png" });
  });

  it("come from stored artifacts", () => {
    const a = {
      id: "art_2",
      url: "http://gw/v1/artifacts/art_2?sig",
      mime_type: "image/png",
      filename: "fox.png",
      model: "m",
      width: 64,
      height: 64,
      seed: 7,
      metadata: { prompt: "a fox" },
    } as unknown as Artifact;
    expect(pictureOfArtifact(a)).toMatchObject({ src: a.url, prompt: "a fox", filename: "fox.png", seed: 7 });
  });
});
