import { download } from "../../lib/download";
import type { Picture } from "./results";

interface Props {
  pictures: Picture[];
  onDelete?(p: Picture): void;
  onUseFor3d?(p: Picture): void;
}

/** Generated pictures with download (and delete / "make 3D" for stored ones). */
export function Gallery({ pictures, onDelete, onUseFor3d }: Props) {
  return (
    <ul className="plain gallery">
      {pictures.map((p, i) => {
        const name = p.prompt ? `“${p.prompt.slice(0, 60)}”` : `image ${i + 1}`;
        return (
          <li key={p.key} className="gallery-item" data-testid="gallery-item">
            <img src={p.src} alt={p.prompt ? `Generated: ${p.prompt}` : "Generated image"} loading="lazy" />
            <div className="gallery-meta small muted">
              {p.model ?? ""}
              {p.width && p.height ? ` · ${p.width}×${p.height}` : ""}
              {p.seed != null ? ` · seed ${p.seed}` : ""}
            </div>
            <div className="row wrap">
              <button type="button" onClick={() => void download(p.src, p.filename)} aria-label={`Download ${name}`}>
                Download
              </button>
              {onUseFor3d && (p.artifactId || p.src.startsWith("data:")) && (
                <button type="button" onClick={() => onUseFor3d(p)} aria-label={`Make a 3D model from ${name}`}>
                  To 3D
                </button>
              )}
              {onDelete && p.artifactId && (
                <button type="button" className="danger" onClick={() => onDelete(p)} aria-label={`Delete ${name}`}>
                  Delete
                </button>
              )}
            </div>
          </li>
        );
      })}
    </ul>
  );
}
