import { useEffect, useRef, useState, type FormEvent } from "react";
import type { Api } from "../../api/client";
import { describeError } from "../../api/errors";
import type { Job, ModelCard } from "../../api/types";
import { formatBytes } from "../../lib/format";
import { download, fileName } from "../../lib/download";
import { fileRefusal, toDataUrl } from "../chat/attachments";
import { GenerationProgress } from "../generation/GenerationProgress";
import { Cancelled, cancelJob, generate } from "../generation/jobs";
import { ModelSelect } from "../generation/ModelSelect";
import { useArtifacts } from "../generation/useArtifacts";
import { MESH_INPUT_KEY } from "../generation/handoff";
import { ParamPanel } from "../models/ParamPanel";
import { useModelParams } from "../models/useParams";
import { meshesOf, meshOfArtifact, type MeshesResponse, type MeshItem } from "./results";
import type { MeshFormat } from "./scene";
import { Viewer } from "./Viewer";

const OWN = ["prompt", "image", "format", "async", "model"];

export const isMeshModel = (m: ModelCard) =>
  Boolean(m.capabilities?.meshes) || (m.output_modalities ?? []).some((o) => o === "3d" || o === "mesh");

/** An input picture: an artifact id (from the image studio) or a data: URL, and what to show. */
interface InputImage {
  image: string;
  src: string;
}

function presetInput(): InputImage | null {
  try {
    const raw = sessionStorage.getItem(MESH_INPUT_KEY);
    sessionStorage.removeItem(MESH_INPUT_KEY);
    const v = raw ? (JSON.parse(raw) as Partial<InputImage>) : null;
    return v?.image && v.src ? { image: v.image, src: v.src } : null;
  } catch {
    return null;
  }
}

/** 3D studio: a prompt or an image in, a mesh out, shown in an interactive viewer. */
export default function MeshStudio({ api, models }: { api: Api; models: ModelCard[] }) {
  const usable = models.filter(isMeshModel);
  const [modelId, setModelId] = useState<string | null>(() => localStorage.getItem("plugai.meshModel"));
  const model = usable.find((m) => m.id === modelId) ?? usable[0] ?? null;
  const form = useModelParams(model, OWN);
  const [input, setInput] = useState<InputImage | null>(presetInput);
  const [mode, setMode] = useState<"text" | "image">(input ? "image" : "text");
  const [prompt, setPrompt] = useState("");
  const [format, setFormat] = useState<MeshFormat>("glb");
  const [running, setRunning] = useState(false);
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState<MeshItem | null>(null);
  const [fresh, setFresh] = useState<MeshItem[]>([]);
  const abort = useRef<AbortController | null>(null);
  const meshes = useArtifacts(api, "mesh");
  const previews = useArtifacts(api, "preview");
  const previewUrls = new Map(previews.items.map((p) => [p.id, p.url]));
  const stored = meshes.items.map((a) => meshOfArtifact(a, previewUrls));
  const list = [...fresh.filter((f) => !stored.some((s) => s.id === f.id)), ...stored];

  useEffect(() => {
    if (!shown && list[0]) setShown(list[0]);
  }, [list, shown]);

  async function pick(files: FileList | null) {
    const file = files?.[0];
    if (!file) return;
    const why = fileRefusal(file, 0);
    if (why) return setError(why);
    try {
      setInput({ image: await toDataUrl(file), src: URL.createObjectURL(file) });
      setError(null);
    } catch {
      setError(`${file.name} could not be read as an image.`);
    }
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!model) return;
    const text = prompt.trim();
    if (mode === "text" && !text) return setError("Describe the object to build.");
    if (mode === "image" && !input) return setError("Choose an image to build from.");
    const refused = Object.values(form.errors);
    if (refused.length) return setError(`Fix the parameters first: ${refused.join(" ")}`);
    setError(null);
    setRunning(true);
    setJob(null);
    const ctrl = new AbortController();
    abort.current = ctrl;
    try {
      const body = { ...form.params, model: model.id, format, ...(mode === "text" ? { prompt: text } : { image: input!.image }) };
      const res = await generate<MeshesResponse>(api, "/v1/3d/generations", body, { onJob: setJob, signal: ctrl.signal });
      const made = meshesOf(res, mode === "text" ? text : "from an image", model.id);
      setFresh((l) => [...made, ...l]);
      if (made[0]) setShown(made[0]);
      void meshes.reload();
      void previews.reload();
    } catch (err) {
      if (!(err instanceof Cancelled)) setError(describeError(err));
    } finally {
      abort.current = null;
      setRunning(false);
      setJob(null);
    }
  }

  async function cancel() {
    if (job && !["succeeded", "failed", "cancelled"].includes(job.status)) {
      try {
        await cancelJob(api, job.id);
      } catch (err) {
        setError(describeError(err));
      }
    } else abort.current?.abort();
  }

  async function remove(m: MeshItem) {
    await meshes.remove(m.id);
    setFresh((l) => l.filter((x) => x.id !== m.id));
    if (shown?.id === m.id) setShown(null);
  }

  return (
    <div className="page studio" aria-labelledby="mesh-title">
      <h1 id="mesh-title" className="page-heading">
        3D studio
      </h1>
      <form className="card studio-form" onSubmit={submit}>
        <ModelSelect
          id="mesh-model"
          models={usable}
          value={model?.id ?? null}
          none="No model on this gateway makes 3D models. Add a 3D provider or a local Shap-E model."
          onChange={(id) => {
            setModelId(id);
            localStorage.setItem("plugai.meshModel", id);
          }}
        />
        <fieldset className="modes">
          <legend>Build from</legend>
          <label>
            <input type="radio" name="mesh-mode" checked={mode === "text"} onChange={() => setMode("text")} /> a description
          </label>
          <label>
            <input type="radio" name="mesh-mode" checked={mode === "image"} onChange={() => setMode("image")} /> an image
          </label>
        </fieldset>
        {mode === "text" ? (
          <>
            <label htmlFor="mesh-prompt">Prompt</label>
            <textarea id="mesh-prompt" rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} placeholder="A small wooden chair" />
          </>
        ) : (
          <>
            <label htmlFor="mesh-image">Image</label>
            <input id="mesh-image" type="file" accept="image/png,image/jpeg,image/webp" onChange={(e) => void pick(e.target.files)} />
            {input && (
              <div className="row">
                <img className="input-thumb" src={input.src} alt="The image to build from" />
                <button type="button" onClick={() => setInput(null)}>
                  Remove image
                </button>
              </div>
            )}
          </>
        )}
        <label htmlFor="mesh-format">File format</label>
        <select id="mesh-format" value={format} onChange={(e) => setFormat(e.target.value as MeshFormat)}>
          <option value="glb">GLB (glTF binary)</option>
          <option value="obj">OBJ</option>
          <option value="ply">PLY</option>
        </select>
        <details className="studio-params">
          <summary>Parameters{Object.keys(form.values).length ? ` (${Object.keys(form.values).length} set)` : ""}</summary>
          <ParamPanel
            fields={form.fields}
            values={form.values}
            errors={form.errors}
            onChange={(v) => {
              form.setValues(v);
              setError(null);
            }}
            modelId={model?.id ?? null}
            heading={false}
          />
        </details>
        {running ? (
          <GenerationProgress job={job} onCancel={() => void cancel()} what="3D generation" />
        ) : (
          <button type="submit" className="primary" disabled={!model || (mode === "text" ? !prompt.trim() : !input)}>
            Generate
          </button>
        )}
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
      <section className="gallery-section" aria-labelledby="meshes-title">
        {shown && <Viewer key={shown.id} url={shown.url} format={shown.format} name={`plugai-${shown.id}`} label={`3D model: ${shown.prompt || shown.id}`} />}
        <h2 id="meshes-title">Your 3D models</h2>
        {meshes.error && (
          <p role="alert" className="error small">
            {meshes.error}
          </p>
        )}
        {list.length === 0 ? (
          <p className="muted">Generated 3D models appear here.</p>
        ) : (
          <ul className="plain gallery">
            {list.map((m) => (
              <li key={m.id} className="gallery-item" data-testid="mesh-item" aria-current={shown?.id === m.id || undefined}>
                {m.previewUrl ? (
                  <img src={m.previewUrl} alt={`Preview of ${m.prompt || m.id}`} loading="lazy" />
                ) : (
                  <div className="mesh-placeholder" aria-hidden="true">
                    {m.format.toUpperCase()}
                  </div>
                )}
                <div className="gallery-meta small muted">
                  {m.prompt ? `“${m.prompt.slice(0, 60)}” · ` : ""}
                  {m.format.toUpperCase()}
                  {m.vertices != null ? ` · ${m.vertices.toLocaleString()} vertices` : ""}
                  {m.bytes != null ? ` · ${formatBytes(m.bytes)}` : ""}
                </div>
                <div className="row wrap">
                  <button type="button" onClick={() => setShown(m)} aria-pressed={shown?.id === m.id} aria-label={`View ${m.prompt || m.id}`}>
                    View
                  </button>
                  <button type="button" onClick={() => void download(m.url, `plugai-${m.id}.${m.format}`)} aria-label={`Download the ${m.format.toUpperCase()} of ${m.prompt || m.id}`}>
                    Download
                  </button>
                  {m.previewUrl && (
                    <button
                      type="button"
                      onClick={() => void download(m.previewUrl!, fileName(`${m.id}-preview`, "image/png"))}
                      aria-label={`Download the preview of ${m.prompt || m.id}`}
                    >
                      Preview
                    </button>
                  )}
                  <button type="button" className="danger" onClick={() => void remove(m)} aria-label={`Delete ${m.prompt || m.id}`}>
                    Delete
                  </button>
                </div>
              </li>
            ))}
          </ul>
        )}
        {meshes.more && (
          <button type="button" onClick={() => void meshes.loadMore()}>
            Show more
          </button>
        )}
      </section>
    </div>
  );
}
