import type { Artifact, ImagesResponse } from "../../api/types";
import { dataUrlMime, fileName } from "../../lib/download";

/** One picture in the gallery. */
export interface Picture {
  key: string;
  src: string;
  artifactId: string | null;
  prompt: string;
  model: string | null;
  filename: string;
  width?: number | null;
  height?: number | null;
  seed?: number | null;
}

/** The pictures of an images response (a data: URL for b64_json, else the url). */
export function picturesOf(res: ImagesResponse, prompt: string, model: string, stamp = Date.now()): Picture[] {
  return res.data.flatMap((d, i) => {
    const src = d.url ?? (d.b64_json ? `data:image/png;base64,${d.b64_json}` : null);
    if (!src) return [];
    const id = d.artifact_id ?? `${stamp.toString(36)}-${i}`;
    return [
      {
        key: d.artifact_id ?? `local-${id}`,
        src,
        artifactId: d.artifact_id ?? null,
        prompt: d.revised_prompt ?? prompt,
        model,
        filename: fileName(id, src.startsWith("data:") ? dataUrlMime(src) : "image/png"),
      },
    ];
  });
}

/** A stored image artifact as a gallery picture. */
export function pictureOfArtifact(a: Artifact): Picture {
  const prompt = typeof a.metadata?.prompt === "string" ? a.metadata.prompt : "";
  return {
    key: a.id,
    src: a.url,
    artifactId: a.id,
    prompt,
    model: a.model,
    filename: fileName(a.id, a.mime_type, a.filename),
    width: a.width,
    height: a.height,
    seed: a.seed,
  };
}
