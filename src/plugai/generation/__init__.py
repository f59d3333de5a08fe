"""Image and 3D generation: input images in, generated files into the artifact store."""
