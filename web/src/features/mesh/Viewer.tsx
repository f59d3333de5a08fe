import { useEffect, useRef, useState } from "react";
import { download } from "../../lib/download";
import type { MeshFormat, MeshStats, ViewerHandle } from "./scene";

interface Props {
  url: string;
  format: MeshFormat;
  label: string;
  /** File name without extension, for downloads. */
  name: string;
}

const FORMATS: MeshFormat[] = ["glb", "obj", "ply"];

const reducedMotion = () => window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ?? false;

/** An interactive view of a mesh (orbit, zoom, auto-rotate); three.js loads on first use. */
export function Viewer({ url, format, label, name }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const handle = useRef<ViewerHandle | null>(null);
  const [state, setState] = useState<"loading" | "ready" | "error">("loading");
  const [error, setError] = useState<string | null>(null);
  const [stats, setStats] = useState<MeshStats | null>(null);
  const [rotate, setRotate] = useState(() => !reducedMotion());

  useEffect(() => {
    let live = true;
    setState("loading");
    setError(null);
    import("./scene")
      .then(({ mountViewer }) => mountViewer(host.current!, url, format, rotate))
      .then((h) => {
        if (!live) return h.dispose();
        handle.current = h;
        setStats(h.stats);
        setState("ready");
      })
      .catch((err: unknown) => {
        if (!live) return;
        setError(err instanceof Error ? err.message : String(err));
        setState("error");
      });
    return () => {
      live = false;
      handle.current?.dispose();
      handle.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [url, format]);

  async function save(f: MeshFormat) {
    if (f === format) return download(url, `${name}.${f}`); // the generated file itself
    const h = handle.current;
    if (!h) return;
    try {
      const blob = await h.exportAs(f);
      const href = URL.createObjectURL(blob);
      await download(href, `${name}.${f}`);
      setTimeout(() => URL.revokeObjectURL(href), 10_000);
    } catch (err) {
      setError(`Could not convert to ${f.toUpperCase()}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  const toggle = () => {
    setRotate((on) => {
      handle.current?.setAutoRotate(!on);
      return !on;
    });
  };

  return (
    <figure className="viewer" aria-label={label}>
      <div ref={host} className="viewer-canvas" data-state={state} data-testid="viewer" data-vertices={stats?.vertices}>
        {state === "loading" && <p className="muted viewer-note">Loading the 3D viewer…</p>}
        {state === "error" && (
          <p role="alert" className="error viewer-note">
            {error}
          </p>
        )}
      </div>
      {state === "ready" && (
        <figcaption className="row spread wrap small">
          <span className="muted">
            {stats ? `${stats.vertices.toLocaleString()} vertices · ${Math.round(stats.triangles).toLocaleString()} faces` : ""} · drag to
            orbit, scroll or pinch to zoom
          </span>
          <span className="row">
            <label className="row switch-label">
              <input type="checkbox" role="switch" className="switch" checked={rotate} onChange={toggle} />
              Auto-rotate
            </label>
            <button type="button" onClick={() => handle.current?.resetView()}>
              Reset view
            </button>
          </span>
          <span className="row wrap" role="group" aria-label="Download the model">
            {FORMATS.map((f) => (
              <button key={f} type="button" onClick={() => void save(f)} aria-label={`Download as ${f.toUpperCase()}${f === format ? "" : " (converted)"}`}>
                {f.toUpperCase()}
                {f === format ? "" : " (converted)"}
              </button>
            ))}
          </span>
        </figcaption>
      )}
      {state === "ready" && error && (
        <p role="alert" className="error small">
          {error}
        </p>
      )}
    </figure>
  );
}
