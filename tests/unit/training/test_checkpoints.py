"""Resuming a training job after its worker was killed: only from a checkpoint the killed attempt finished."""

from __future__ import annotations

from pathlib import Path

from hubstead.training.runner import _last_complete_checkpoint


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, line: str) -> None:
        self.lines.append(line)

    def progress(self, *args: object, **kwargs: object) -> None:
        pass


def _checkpoint(root: Path, step: int, state: str | None) -> Path:
    folder = root / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"weights")
    if state is not None:
        (folder / "trainer_state.json").write_text(state)
    return folder


def test_a_checkpoint_cut_short_is_discarded_for_the_one_before(tmp_path: Path) -> None:
    done = _checkpoint(tmp_path, 10, '{"global_step": 10}')
    cut = _checkpoint(tmp_path, 20, None)  # killed before Trainer wrote its state, which it writes last
    torn = _checkpoint(tmp_path, 30, '{"global_st')  # killed while writing it
    log = Log()

    assert _last_complete_checkpoint(tmp_path, log) == str(done)
    assert not cut.exists()
    assert not torn.exists()
    assert len(log.lines) == 2


def test_steps_are_compared_as_numbers_and_nothing_is_nothing(tmp_path: Path) -> None:
    _checkpoint(tmp_path, 9, "{}")
    latest = _checkpoint(tmp_path, 100, "{}")

    assert _last_complete_checkpoint(tmp_path, Log()) == str(latest)
    assert _last_complete_checkpoint(tmp_path / "none", Log()) is None
