"""Long generation jobs: run in the background with progress, cancellable, persisted."""
