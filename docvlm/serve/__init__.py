"""HTTP service over the Parser and extraction: `docvlm serve`, its task queue and review page.

`docvlm.serve.app.create_app(ServeSettings(...))` builds the FastAPI app; it needs the `serve`
extra (FastAPI, uvicorn, python-multipart), which the rest of docvlm does not import.
"""
