/** sessionStorage key: an image the image studio hands to the 3D studio ({image, src}). */
export const MESH_INPUT_KEY = "plugai.meshInput";
