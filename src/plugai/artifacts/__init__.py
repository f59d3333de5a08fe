"""Generated files (images, meshes, previews) kept as artifacts owned by the caller."""
