"""The `build-100w` deployment of the `seagull-100w` flow, served by this process (`flow.serve`).

seagull serve          # starts a local Prefect server if none answers, then serves
prefect deployment run 'seagull-100w/build-100w' --param source=sample:8 --param out=shards
"""

from __future__ import annotations

from prefect.flows import EntrypointType

from flows.build_100w import DEPLOYMENT_NAME, build_100w


def serve(limit: int = 1) -> None:
    """Serve `build-100w` until interrupted; runs execute in subprocesses of this one.

    Args:
        limit: flow runs at once (each run already uses every core through its chunks).
    """
    build_100w.serve(
        name=DEPLOYMENT_NAME,
        description="Build SEAGULL-100w WebDataset shards from RAW files (render → masks → labels → shards).",
        tags=["seagull"],
        limit=limit,
        # Module path, not file path: the installed package is found from any working directory.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


if __name__ == "__main__":
    serve()
