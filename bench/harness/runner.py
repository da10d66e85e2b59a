"""The runner: picks benchmark modules, hands each a Context, writes each one's doc section.

A benchmark is a module `bench/<name>.py` with `async def run(ctx: Context) -> Section` (a plain
`def` works too). The runner rewrites only the text between `<!-- bench:<name> -->` and
`<!-- /bench:<name> -->` in docs/benchmarks.md, so each benchmark owns its section.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib
import importlib.metadata
import inspect
import os
import pkgutil
import platform
import re
import shlex
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import bench
from bench.harness.load import LoadGenerator, pick_generator

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "benchmarks.md"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DOC_HEADER = """# Benchmarks

Figures written by `make bench` (`.venv/bin/python -m bench`); each section is rewritten by its
own benchmark module (`bench/<name>.py`) between its markers, with the date, the machine and the
exact command of the run that produced it. How to run and how to add a benchmark:
[bench/README.md](../bench/README.md).
"""


@dataclass(frozen=True)
class Section:
    """What a benchmark returns: a title (rendered as a `##` heading) and a markdown body."""

    title: str
    body: str


@dataclass
class Context:
    """What a benchmark gets: the run's settings, the load generator, and a place for notes."""

    duration: float
    warmup: float
    connections: int
    repeat: int
    backends: list[str]
    postgres_url: str | None
    profile: bool
    workdir: Path
    loadgen: LoadGenerator
    repo: Path = REPO
    python: str = sys.executable
    notes: list[str] = field(default_factory=list)

    def say(self, message: str) -> None:
        """Progress on stderr (the doc only gets the section)."""
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def skip(self, message: str) -> None:
        """Something the run could not measure: printed now and listed under the section."""
        self.notes.append(message)
        self.say(f"skipped: {message}")

    @property
    def rounds_text(self) -> str:
        return (
            f"{self.connections} connections, {self.warmup:g} s warm-up then {self.duration:g} s "
            f"per measurement, median of {self.repeat} interleaved round(s)"
        )


def available() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        if not m.ispkg and not m.name.startswith("_")
    )


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub table; numbers right-aligned."""

    def align(i: int) -> str:
        numeric = all(isinstance(r[i], int | float) or _looks_numeric(r[i]) for r in rows)
        return "---:" if rows and numeric else "---"

    lines = [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join(align(i) for i in range(len(headers))) + " |",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _looks_numeric(value: object) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d,. ]+[a-z×%]*", str(value).strip()))


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} × {cpu} (nproc {len(os.sched_getaffinity(0))})"


def versions() -> str:
    def version(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    extras = [n for n in ("uvloop", "httptools") if version(n)]
    uvicorn = f"uvicorn {version('uvicorn')}" + (f" ({', '.join(extras)})" if extras else "")
    return ", ".join(
        [
            f"Python {platform.python_version()}",
            uvicorn,
            f"FastAPI {version('fastapi')}",
            f"SQLAlchemy {version('sqlalchemy')}",
        ]
    )


def command() -> str:
    python = Path(sys.executable)
    shown = os.path.relpath(python, REPO) if python.is_relative_to(REPO) else str(python)
    return shlex.join([shown, "-m", "bench", *sys.argv[1:]])


def stamp(ctx: Context) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"_Run {now} on {machine()}; {versions()}; load: {ctx.loadgen.name}, "
        f"{ctx.rounds_text}. Command: `{command()}`._"
    )


def render(name: str, section: Section, ctx: Context) -> str:
    parts = [f"## {section.title}", stamp(ctx), section.body.strip()]
    if ctx.notes:
        parts.append("Skipped in this run:\n\n" + "\n".join(f"- {n}" for n in ctx.notes))
    return "\n\n".join(parts)


def write_section(doc: Path, name: str, text: str) -> None:
    """Replace this benchmark's section (or append it); every other byte of the doc stays."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    content = doc.read_text(encoding="utf-8") if doc.exists() else DOC_HEADER
    block = f"{start}\n{text.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(content):
        content = pattern.sub(lambda _m: block, content, count=1)
    else:
        content = content.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    tmp = doc.with_suffix(".md.tmp")
    tmp.write_text(content, encoding="utf-8")
    tmp.replace(doc)


async def run_one(name: str, ctx: Context) -> Section:
    module = importlib.import_module(f"bench.{name}")
    run = getattr(module, "run", None)
    if run is None:
        raise TypeError(f"bench/{name}.py has no run(ctx) function")
    result = await run(ctx) if inspect.iscoroutinefunction(run) else run(ctx)
    if not isinstance(result, Section):
        raise TypeError(f"bench/{name}.py run() returned {type(result).__name__}, not Section")
    return result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run benchmarks and rewrite their sections of docs/benchmarks.md.",
    )
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default: all of {available()})"
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured (5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up (1)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (32)")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds, median (5)")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="databases (sqlite,postgresql)"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TDI_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="server where throwaway databases are created (TDI_BENCH_POSTGRES_URL)",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles")
    parser.add_argument(
        "--python-load", action="store_true", help="use the Python load generator even with wrk"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 s, no warm-up, 1 round, no doc"
    )
    parser.add_argument("--stdout", action="store_true", help="print sections, leave the doc")
    parser.add_argument("--doc", type=Path, default=DOC, help="the doc to rewrite")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.repeat, args.stdout = 1.0, 0.0, 1, True
    unknown = set(args.names) - set(available())
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; known: {available()}")
    return args


async def amain(args: argparse.Namespace) -> int:
    # SIGTERM (a CI timeout, `kill`) cancels the run like Ctrl-C does, so that every server
    # started is stopped and every throwaway database dropped on the way out.
    main_task = asyncio.current_task()
    if main_task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    loadgen, note = pick_generator(force_python=args.python_load)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    failed = []
    for name in args.names or available():
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as workdir:
            ctx = Context(
                duration=args.duration,
                warmup=args.warmup,
                connections=args.connections,
                repeat=args.repeat,
                backends=backends,
                postgres_url=args.postgres_url if "postgresql" in backends else None,
                profile=not args.no_profile,
                workdir=Path(workdir),
                loadgen=loadgen,
            )
            if note:
                ctx.skip(note)
            ctx.say(f"{name}: start ({loadgen.name}; {ctx.rounds_text})")
            try:
                section = await run_one(name, ctx)
            except Exception:
                traceback.print_exc()
                ctx.say(f"{name}: FAILED, its section of the doc is left as it was")
                failed.append(name)
                continue
            text = render(name, section, ctx)
            if args.stdout:
                print(f"<!-- bench:{name} -->\n{text}\n<!-- /bench:{name} -->\n")
            else:
                write_section(args.doc, name, text)
                ctx.say(f"{name}: section written to {args.doc}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(amain(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("[bench] interrupted: servers stopped, throwaway databases dropped", file=sys.stderr)
        return 130
