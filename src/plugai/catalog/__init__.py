"""The local model registry: models on disk (discovered or downloaded) and download jobs.

One idea per module: ``metadata`` reads headers, ``scanner`` finds models on disk,
``registry`` persists them, ``sources`` turns a source into files to fetch, ``fetch``
downloads one file with resume and verification, ``downloader`` runs persisted jobs,
``serving`` hands ready models to the local runner.
"""
