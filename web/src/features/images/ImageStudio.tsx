import { useRef, useState, type FormEvent } from "react";
import type { Api } from "../../api/client";
import { describeError } from "../../api/errors";
import type { ImagesResponse, Job, ModelCard } from "../../api/types";
import { GenerationProgress } from "../generation/GenerationProgress";
import { MESH_INPUT_KEY } from "../generation/handoff";
import { Cancelled, cancelJob, generate } from "../generation/jobs";
import { ModelSelect } from "../generation/ModelSelect";
import { useArtifacts } from "../generation/useArtifacts";
import { ParamPanel } from "../models/ParamPanel";
import { useModelParams } from "../models/useParams";
import { Gallery } from "./Gallery";
import { pictureOfArtifact, picturesOf, type Picture } from "./results";

/** Request fields this screen sets itself (not shown in the parameter form). */
const OWN = ["prompt", "n", "response_format", "image", "async", "model", "user"];

export const isImageModel = (m: ModelCard) => Boolean(m.capabilities?.images);

/** Image studio: prompt, a model that makes images, its parameters, a gallery. */
export default function ImageStudio({ api, models }: { api: Api; models: ModelCard[] }) {
  const usable = models.filter(isImageModel);
  const [modelId, setModelId] = useState<string | null>(() => localStorage.getItem("plugai.imageModel"));
  const model = usable.find((m) => m.id === modelId) ?? usable[0] ?? null;
  const form = useModelParams(model, OWN);
  const [prompt, setPrompt] = useState("");
  const [count, setCount] = useState(1);
  const [running, setRunning] = useState(false);
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fresh, setFresh] = useState<Picture[]>([]);
  const abort = useRef<AbortController | null>(null);
  const stored = useArtifacts(api, "image");

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!model) return;
    const text = prompt.trim();
    if (!text) return setError("Describe the image to make.");
    const refused = Object.values(form.errors);
    if (refused.length) return setError(`Fix the parameters first: ${refused.join(" ")}`);
    setError(null);
    setRunning(true);
    setJob(null);
    const ctrl = new AbortController();
    abort.current = ctrl;
    try {
      const body = { ...form.params, model: model.id, prompt: text, n: count, response_format: "b64_json" };
      const res = await generate<ImagesResponse>(api, "/v1/images/generations", body, { onJob: setJob, signal: ctrl.signal });
      const pics = picturesOf(res, text, model.id);
      if (pics.some((p) => p.artifactId)) {
        await stored.reload(); // kept on the gateway: the gallery shows them
        setFresh((list) => [...pics.filter((p) => !p.artifactId), ...list]);
      } else setFresh((list) => [...pics, ...list]);
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

  const pictures = [...fresh, ...stored.items.map(pictureOfArtifact)];
  const toMesh = (p: Picture) => {
    sessionStorage.setItem(MESH_INPUT_KEY, JSON.stringify({ image: p.artifactId ?? p.src, src: p.src }));
    window.location.hash = "#/3d";
  };

  return (
    <div className="page studio" aria-labelledby="images-title">
      <h1 id="images-title" className="page-heading">
        Image studio
      </h1>
      <form className="card studio-form" onSubmit={submit}>
        <ModelSelect
          id="image-model"
          models={usable}
          value={model?.id ?? null}
          none="No model on this gateway makes images. Add an image provider or a local diffusers model."
          onChange={(id) => {
            setModelId(id);
            localStorage.setItem("plugai.imageModel", id);
          }}
        />
        <label htmlFor="image-prompt">Prompt</label>
        <textarea id="image-prompt" rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} placeholder="A lighthouse at dusk, oil painting" />
        <label htmlFor="image-count">Number of images</label>
        <select id="image-count" value={count} onChange={(e) => setCount(Number(e.target.value))}>
          {[1, 2, 3, 4].map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
        <details className="studio-params">
          <summary>Parameters{Object.keys(form.values).length ? ` (${Object.keys(form.values).length} set)` : ""}</summary>
          <ParamPanel fields={form.fields} values={form.values} errors={form.errors} onChange={(v) => {
              form.setValues(v);
              setError(null);
            }}
            modelId={model?.id ?? null}
            heading={false}
          />
        </details>
        {running ? (
          <GenerationProgress job={job} onCancel={() => void cancel()} what="Image generation" />
        ) : (
          <button type="submit" className="primary" disabled={!model || !prompt.trim()}>
            Generate
          </button>
        )}
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
      <section className="gallery-section" aria-labelledby="gallery-title">
        <h2 id="gallery-title">Your images</h2>
        {stored.error && (
          <p role="alert" className="error small">
            {stored.error}
          </p>
        )}
        {pictures.length === 0 ? (
          <p className="muted">Generated images appear here{stored.available ? " and stay on your gateway" : ""}.</p>
        ) : (
          <Gallery pictures={pictures} onDelete={(p) => p.artifactId && void stored.remove(p.artifactId)} onUseFor3d={toMesh} />
        )}
        {stored.more && (
          <button type="button" onClick={() => void stored.loadMore()}>
            Show more
          </button>
        )}
      </section>
    </div>
  );
}
