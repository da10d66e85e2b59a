"""Where a server's CPU goes under load: py-spy samples the uvicorn process while it serves.

    profile = await sample_under_load(ctx, server, scenario)
    profile.gil_held                          # share of wall-clock time a thread held the GIL
    profile.stages(RULES)                     # each sample in the first stage any frame matches
    profile.leaf_share(LAYERS)                # self time, by the layer of the innermost frame

Only samples of a thread holding the GIL are kept (`--gil`): one Python process runs one thread
at a time, so GIL time is what a worker spends per request, and a GIL held less than all the
time means the process waits (on the database, on its driver threads). Stacks that run in a
SQLAlchemy greenlet are cut at the greenlet: shares by stage are approximate, by layer exact.
py-spy is in the `bench` dependency group; without it the profile is skipped and said so.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.harness.load import Scenario, Server, stop

if TYPE_CHECKING:
    from bench.harness.runner import Context

RATE = 100  # samples per second


@dataclass(frozen=True)
class Frame:
    function: str
    file: str  # as py-spy shortens it: `sqlalchemy/orm/session.py`
    line: int

    @property
    def package(self) -> str:
        return self.file.split("/", 1)[0]

    @classmethod
    def parse(cls, text: str) -> Frame:
        if text.startswith("thread ("):  # `thread (1234): MainThread`, from --threads
            return cls(text.rpartition(": ")[2], "<thread>", 0)
        function, _, location = text.rpartition(" (")
        file, _, line = location.rstrip(")").rpartition(":")
        return cls(function or text, file, int(line) if line.isdigit() else 0)


@dataclass(frozen=True)
class Profile:
    stacks: list[tuple[tuple[Frame, ...], int]]  # root first, with the number of samples
    seconds: float = 0.0
    rate: int = RATE

    @property
    def samples(self) -> int:
        return sum(n for _, n in self.stacks)

    @property
    def gil_held(self) -> float:
        expected = self.seconds * self.rate
        return min(1.0, self.samples / expected) if expected else 0.0

    def thread_share(self) -> Counter[str]:
        """Samples by thread: the event loop's (MainThread) and the others (driver workers)."""
        shares: Counter[str] = Counter()
        for frames, n in self.stacks:
            main = frames[0].file != "<thread>" or frames[0].function == "MainThread"
            shares["event loop thread" if main else "other threads"] += n / self.samples
        return shares

    def stages(self, rules: Sequence[tuple[str, Callable[[Frame], bool]]]) -> Counter[str]:
        """Exclusive shares: a sample goes to the first rule that any of its frames matches."""
        shares: Counter[str] = Counter()
        for frames, n in self.stacks:
            name = next((label for label, m in rules if any(m(f) for f in frames)), "other")
            shares[name] += n / self.samples
        return shares

    def share(self, matches: Callable[[Frame], bool]) -> float:
        """Fraction of busy samples with a matching frame anywhere on the stack (inclusive)."""
        hit = sum(n for frames, n in self.stacks if any(matches(f) for f in frames))
        return hit / self.samples if self.samples else 0.0

    def leaf_share(self, layers: Sequence[tuple[str, Callable[[Frame], bool]]]) -> Counter[str]:
        """Self time by layer: each sample goes to the first layer matching its innermost frame."""
        shares: Counter[str] = Counter()
        for frames, n in self.stacks:
            leaf = frames[-1]
            name = next((label for label, m in layers if m(leaf)), "other")
            shares[name] += n / self.samples
        return shares

    def top_leaves(self, count: int = 10) -> list[tuple[str, float]]:
        leaves: Counter[str] = Counter()
        for frames, n in self.stacks:
            leaf = frames[-1]
            leaves[f"{leaf.function} ({leaf.file})"] += n / self.samples
        return leaves.most_common(count)


def in_packages(*packages: str) -> Callable[[Frame], bool]:
    names = set(packages)
    return lambda frame: frame.package in names


def named(*functions: str, file: str = "") -> Callable[[Frame], bool]:
    """Frames of these functions (`Class.method` as py-spy names them), optionally in `file`."""
    names = set(functions)
    return lambda f: (
        (f.function in names or f.function.rsplit(".", 1)[-1] in names) and (file in f.file)
    )


def read_raw(path: Path, *, seconds: float = 0.0, rate: int = RATE) -> Profile:
    """py-spy's `--format raw`: one `frame;frame;... count` line per distinct stack."""
    stacks = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((tuple(Frame.parse(f) for f in stack.split(";")), int(count)))
    return Profile(stacks, seconds=seconds, rate=rate)


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


async def sample_under_load(
    ctx: Context, server: Server, scenario: Scenario, *, seconds: float | None = None
) -> Profile | None:
    """Load `scenario` while py-spy samples the server; None (noted) without py-spy."""
    tool = py_spy()
    if tool is None:
        ctx.skip("profile: py-spy is not installed (`uv sync --group bench`)")
        return None
    seconds = max(1, round(seconds or 2 * ctx.duration))
    slug = re.sub(r"[^A-Za-z0-9]+", "-", scenario.name).strip("-")
    output = ctx.workdir / f"{server.name}-{slug}.raw"
    cmd = [tool, "record", "--pid", str(server.pid), "--duration", str(seconds)]
    # Blocking (the default): each sample pauses the server for a moment, but its stacks are
    # whole; non-blocking reads of a running process mix frames of different moments.
    cmd += ["--rate", str(RATE), "--format", "raw", "--output", str(output), "--gil", "--threads"]
    # Load starts first and outlasts the sampling, so that every sample is of a loaded server.
    load = asyncio.create_task(
        ctx.loadgen.run(
            scenario.url,
            headers=scenario.headers,
            connections=ctx.connections,
            duration=seconds + 2,
        )
    )
    await asyncio.sleep(0.5)
    process = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), seconds + 30)
    except TimeoutError:
        await stop(process)
        out = b"timed out"
    await load
    if process.returncode != 0 or not output.exists():
        ctx.skip(f"profile: py-spy failed ({out.decode(errors='replace')[-300:].strip()})")
        return None
    return read_raw(output, seconds=seconds)


def percent(value: float) -> str:
    return f"{value * 100:.0f} %"
