"""The detection service: an HTTP API and a web page over the prod model (FastAPI + uvicorn).

- `config`: `ServiceConfig` (params.yaml key `service`);
- `batcher`: `MicroBatcher`, concurrent requests batched into the branches' forwards;
- `holder`: `ModelHolder`, the loaded model and its swap when the prod stage moves;
- `app`: `create_app`, the routes; `page.html` is the page served at `/`.
"""
