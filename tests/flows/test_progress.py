"""The build's progress bar moves once per reference as chunks report them, not once per chunk (a
chunk of 8 references at 1,024 px takes minutes: a per-chunk bar sits at 0 % that long)."""

from __future__ import annotations

from flows import build_100w as module
from pipeline.build_config import BuildConfig
from pipeline.chunk import ChunkResult, ChunkSpec


class RecordingBar:
    """Stands in for tqdm: records every update."""

    made: list[RecordingBar] = []

    def __init__(self, total: int, initial: int = 0, **kwargs) -> None:
        self.total, self.n, self.updates = total, initial, []
        RecordingBar.made.append(self)

    def __enter__(self) -> RecordingBar:
        return self

    def __exit__(self, *args) -> None:
        pass

    def update(self, n: int = 1) -> None:
        self.updates.append(n)
        self.n += n


def test_bar_moves_per_reference_and_ends_at_the_total(prefect_server, monkeypatch, tmp_path):
    from prefect import flow
    from prefect.task_runners import ThreadPoolTaskRunner

    def fake_chunk(spec, config, progress=None):
        for done, path in enumerate(spec.paths, 1):
            progress(path, done, len(spec.paths))
        return ChunkResult(spec.index, "f", [])

    monkeypatch.setattr(module, "process_chunk", fake_chunk)
    monkeypatch.setattr(module, "tqdm", RecordingBar)
    RecordingBar.made.clear()
    chunks = [ChunkSpec(i, tuple(f"/raw/{i}-{j}.dng" for j in range(3))) for i in range(2)]
    finished_earlier = ChunkResult(2, "f", [{"name": "2-0.dng", "bytes": 1}])
    chunks.append(ChunkSpec(2, ("/raw/2-0.dng",)))
    config = BuildConfig(source="raw", out=str(tmp_path))

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
    def run_all() -> None:
        module._run_chunks(chunks, [finished_earlier], config, 2)

    run_all()
    (bar,) = RecordingBar.made
    assert bar.total == 7
    assert bar.updates == [1] * 6  # one per reference; the chunk's end adds nothing more
    assert bar.n == 7  # the finished chunk's reference counted from the start (its inputs: 1)


def test_a_chunk_that_reports_nothing_moves_the_bar_when_it_ends(prefect_server, monkeypatch, tmp_path):
    """As on a Dask worker, whose progress calls cannot reach this process's bar."""
    from prefect import flow
    from prefect.task_runners import ThreadPoolTaskRunner

    monkeypatch.setattr(
        module, "process_chunk", lambda spec, config, progress=None: ChunkResult(spec.index, "f", [])
    )
    monkeypatch.setattr(module, "tqdm", RecordingBar)
    RecordingBar.made.clear()
    chunks = [ChunkSpec(i, ("/raw/a.dng", "/raw/b.dng")) for i in range(2)]

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=1))
    def run_all() -> None:
        module._run_chunks(chunks, [], BuildConfig(source="raw", out=str(tmp_path)), 1)

    run_all()
    assert RecordingBar.made[0].updates == [2, 2]
