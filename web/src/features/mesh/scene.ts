// The 3D viewer (three.js, GLTFLoader / OBJLoader / PLYLoader, OrbitControls): a chunk of
// its own, imported by Viewer.tsx only when a mesh is shown. Renders on demand: frames are
// drawn while the camera moves or auto-rotates, never while idle.
import {
  AmbientLight,
  Box3,
  BufferGeometry,
  Color,
  DirectionalLight,
  HemisphereLight,
  Mesh,
  MeshStandardMaterial,
  Object3D,
  PerspectiveCamera,
  Scene,
  Sphere,
  Vector3,
  WebGLRenderer,
} from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { GLTFExporter } from "three/examples/jsm/exporters/GLTFExporter.js";
import { OBJExporter } from "three/examples/jsm/exporters/OBJExporter.js";
import { PLYExporter } from "three/examples/jsm/exporters/PLYExporter.js";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import { OBJLoader } from "three/examples/jsm/loaders/OBJLoader.js";
import { PLYLoader } from "three/examples/jsm/loaders/PLYLoader.js";

export type MeshFormat = "glb" | "obj" | "ply";

export interface MeshStats {
  meshes: number;
  vertices: number;
  triangles: number;
}

export interface ViewerHandle {
  stats: MeshStats;
  setAutoRotate(on: boolean): void;
  resetView(): void;
  /** The shown model as a file in another format (converted here, in the browser). */
  exportAs(format: MeshFormat): Promise<Blob>;
  dispose(): void;
}

export const MIME: Record<MeshFormat, string> = { glb: "model/gltf-binary", obj: "model/obj", ply: "application/ply" };

async function exportAs(root: Object3D, format: MeshFormat): Promise<Blob> {
  if (format === "glb") {
    const data = await new GLTFExporter().parseAsync(root, { binary: true });
    return new Blob([data as ArrayBuffer], { type: MIME.glb });
  }
  if (format === "obj") return new Blob([new OBJExporter().parse(root)], { type: MIME.obj });
  const data = await new Promise<ArrayBuffer | string>((resolve) =>
    new PLYExporter().parse(root, (out) => resolve(out as ArrayBuffer | string), { binary: true }),
  );
  return new Blob([data], { type: MIME.ply });
}

async function load(url: string, format: MeshFormat): Promise<Object3D> {
  if (format === "glb") return (await new GLTFLoader().loadAsync(url)).scene;
  if (format === "obj") {
    const root = await new OBJLoader().loadAsync(url);
    root.traverse((o) => {
      if (o instanceof Mesh) o.material = new MeshStandardMaterial({ color: 0xb8bcc8, roughness: 0.7 });
    });
    return root;
  }
  const geometry: BufferGeometry = await new PLYLoader().loadAsync(url);
  geometry.computeVertexNormals();
  const colours = geometry.hasAttribute("color");
  return new Mesh(geometry, new MeshStandardMaterial({ color: colours ? 0xffffff : 0xb8bcc8, vertexColors: colours, roughness: 0.7 }));
}

function statsOf(root: Object3D): MeshStats {
  const s = { meshes: 0, vertices: 0, triangles: 0 };
  root.traverse((o) => {
    if (!(o instanceof Mesh)) return;
    const g = o.geometry as BufferGeometry;
    const n = g.getAttribute("position")?.count ?? 0;
    s.meshes += 1;
    s.vertices += n;
    s.triangles += g.index ? g.index.count / 3 : n / 3;
  });
  return s;
}

/** Shows the mesh at url in host (a canvas is added); throws when WebGL or the file fails. */
export async function mountViewer(host: HTMLElement, url: string, format: MeshFormat, autoRotate: boolean): Promise<ViewerHandle> {
  let renderer: WebGLRenderer;
  try {
    renderer = new WebGLRenderer({ antialias: true, alpha: true, preserveDrawingBuffer: true });
  } catch {
    throw new Error("This browser can't show 3D here (WebGL is unavailable). The files can still be downloaded.");
  }
  const root = await load(url, format).catch((err: unknown) => {
    renderer.dispose();
    throw new Error(`The 3D file could not be read (${err instanceof Error ? err.message : String(err)}).`);
  });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  const canvas = renderer.domElement;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "3D model: drag to orbit, pinch or scroll to zoom");
  host.append(canvas);

  const scene = new Scene();
  scene.add(new HemisphereLight(0xffffff, 0x445566, 1.6), new AmbientLight(0xffffff, 0.4));
  const sun = new DirectionalLight(0xffffff, 2.2);
  sun.position.set(3, 5, 4);
  scene.add(sun);

  // Centre the model at the origin and frame it.
  const box = new Box3().setFromObject(root);
  const sphere = box.getBoundingSphere(new Sphere());
  const placed = root.position.clone();
  root.position.sub(sphere.center);
  scene.add(root);
  const radius = sphere.radius || 1;
  const camera = new PerspectiveCamera(40, 1, radius / 100, radius * 100);
  const home = new Vector3(radius * 1.6, radius * 1.1, radius * 2.4);
  camera.position.copy(home);

  const controls = new OrbitControls(camera, canvas);
  controls.enableDamping = true;
  controls.autoRotate = autoRotate;
  controls.autoRotateSpeed = 2;
  controls.minDistance = radius * 0.3;
  controls.maxDistance = radius * 20;

  let frame = 0;
  const draw = () => {
    frame = 0;
    const moved = controls.update();
    renderer.render(scene, camera);
    if (moved || controls.autoRotate) frame = requestAnimationFrame(draw);
  };
  const request = () => {
    if (!frame) frame = requestAnimationFrame(draw);
  };
  controls.addEventListener("change", request);

  const resize = () => {
    const w = Math.max(1, host.clientWidth);
    const h = Math.max(1, host.clientHeight);
    renderer.setSize(w, h, false);
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
    request();
  };
  const observer = new ResizeObserver(resize);
  observer.observe(host);
  resize();
  scene.background = null;
  renderer.setClearColor(new Color(0x000000), 0);

  return {
    stats: statsOf(root),
    setAutoRotate(on) {
      controls.autoRotate = on;
      request();
    },
    async exportAs(f) {
      const shown = root.position.clone();
      root.position.copy(placed); // the file's own coordinates, not the centred view
      root.updateMatrixWorld(true);
      try {
        return await exportAs(root, f);
      } finally {
        root.position.copy(shown);
        root.updateMatrixWorld(true);
      }
    },
    resetView() {
      camera.position.copy(home);
      controls.target.set(0, 0, 0);
      request();
    },
    dispose() {
      cancelAnimationFrame(frame);
      observer.disconnect();
      controls.dispose();
      root.traverse((o) => {
        if (o instanceof Mesh) {
          o.geometry.dispose();
          const mats = Array.isArray(o.material) ? o.material : [o.material];
          mats.forEach((m) => m.dispose());
        }
      });
      renderer.dispose();
      canvas.remove();
    },
  };
}
