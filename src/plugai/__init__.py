"""PlugAI: one OpenAI-compatible gateway for text, image and 3D generation."""

import sys

__version__ = "0.1.0"

# structlog loads rich (installed with huggingface-hub's CLI) for console tracebacks, which
# PlugAI's logging never uses (format_exc_info renders exceptions first). Hiding rich while
# structlog loads keeps it and pygments, about 4 MB, out of every PlugAI process; code that
# wants rich later can still import it.
if "structlog" not in sys.modules and "rich" not in sys.modules:
    sys.modules["rich"] = None  # type: ignore[assignment]
    try:
        import structlog  # noqa: F401
    finally:
        del sys.modules["rich"]
