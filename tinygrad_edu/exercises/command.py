"""``tinygrad-edu exercise``: list the exercises, start one, check a learner's file, write the solutions.

Exit codes, for graders: 0 all right; 1 a wrong answer (a number that differs, a TODO left, a syntax error, a
missing function, an exception in the learner's code, code still running after --timeout seconds); 2 bad usage
(no such exercise, a file that cannot be read or that says not which exercise it is, a file that would be
overwritten without --force, a folder to write into that does not exist).

What is written is created, the folder it goes into must exist: ``start N PATH`` writes the file PATH (or
PATH/exNN_slug.py for a folder) and ``--solutions DIR`` makes the folder DIR, each refusing a parent folder
that is not there (a typo would otherwise leave a new tree of folders behind).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shlex
import sys

from tinygrad_edu.exercises import catalog
from tinygrad_edu.exercises.grading import Verdict, check_source
from tinygrad_edu.files import atomic_write
from tinygrad_edu.tables import text_table

TIMEOUT = 20.0  # seconds: the learner's code is stopped after this long (an infinite loop?)
ABOUT = "exercises the engine grades: write a backward by hand, and be told which number is wrong and why"


class _Usage(ValueError):
    """Bad usage: exit code 2 with one line; ``status`` is the verdict's status that --json prints."""

    def __init__(self, text: str, status: str = "unreadable"):
        super().__init__(text)
        self.status = status


def configure(p: argparse.ArgumentParser) -> None:
    """The ``exercise`` subcommand's options and actions."""
    p.description = (
        "Exercises the engine grades. list: every exercise; start N [PATH]: write exercise N's file (the task "
        "and TODOs); check PATH: grade it (exit 0 right, 1 wrong, 2 bad usage); --solutions DIR: write "
        "the reference solutions."
    )

    def pack_option(parser: argparse.ArgumentParser, default) -> None:
        parser.add_argument(
            "--pack",
            metavar="PATH",
            default=default,
            help="a course's own exercise file, or a folder of them (each defines EXERCISE = Exercise(...))",
        )

    pack_option(p, None)
    p.add_argument(
        "--solutions",
        metavar="DIR",
        help="write every exercise's reference solution into DIR (made if missing; its parent must exist)",
    )
    p.add_argument("--force", action="store_true", help="replace files that exist (with --solutions or start)")
    actions = p.add_subparsers(dest="action", metavar="{list,start,check}")
    a = actions.add_parser("list", help="list the exercises")
    pack_option(a, argparse.SUPPRESS)
    a = actions.add_parser("start", help="write exercise N's file: the task and TODOs to fill in")
    a.add_argument("number", type=int, help="which exercise (see list)")
    a.add_argument("path", nargs="?", help="where (a file, or a folder); default: ./exNN_slug.py")
    a.add_argument("--force", action="store_true", default=argparse.SUPPRESS, help="replace the file if it exists")
    pack_option(a, argparse.SUPPRESS)
    a = actions.add_parser("check", help="grade a learner's file (exit 0 right, 1 wrong, 2 bad usage)")
    a.add_argument("path", help="the learner's file")
    a.add_argument("--json", action="store_true", help="print the verdict as one JSON object, for course tools")
    a.add_argument("--number", type=int, help="which exercise (default: from the file's first line or its name)")
    a.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT,
        metavar="SECONDS",
        help=f"stop your code when it runs this long without returning (default {TIMEOUT:g}; 0: no limit). "
        "The limit needs SIGALRM: on Windows there is none",
    )
    pack_option(a, argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Run the ``exercise`` subcommand; bad usage prints one line on stderr and returns 2."""
    try:
        if args.solutions is not None and args.action is not None:
            raise _Usage(f"--solutions writes files; it does not go with {args.action!r}")
        if args.solutions is not None:
            return _solutions(args)
        if args.action is None:
            raise _Usage("say what to do: list, start N, check PATH, or --solutions DIR (see --help)")
        return {"list": _list, "start": _start, "check": _check}[args.action](args)
    except (_Usage, catalog.ExerciseNotFound, OSError) as e:
        if getattr(args, "json", False):  # the keys of a verdict, null where they do not apply
            said = {f.name: None for f in dataclasses.fields(Verdict)}
            print(json.dumps(said | {"ok": False, "status": getattr(e, "status", "unreadable"), "text": str(e)}))
        print(f"tinygrad-edu exercise: error: {e}", file=sys.stderr)
        return 2


def _list(args) -> int:
    rows = [(str(ex.number), ex.filename, ex.title, ex.lesson) for ex in catalog.exercises(args.pack)]
    print(text_table(("#", "file", "exercise", "follows"), rows))
    pack = f" --pack {shlex.quote(args.pack)}" if args.pack else ""
    print(f"\nStart one: tinygrad-edu exercise start N{pack}; check it: tinygrad-edu exercise check{pack} FILE")
    return 0


def _refuse_existing(paths: list[str], force: bool) -> None:
    there = [p for p in paths if os.path.exists(p)]
    if there and not force:
        raise _Usage(f"{', '.join(there)} exists: not overwritten (--force replaces it)")


def _refuse_missing_folder(path: str) -> None:
    """Refuse to write ``path`` (a file, or the folder --solutions makes) into a folder that does not exist."""
    folder = os.path.dirname(os.path.normpath(path))
    if folder and not os.path.isdir(folder):
        raise _Usage(f"the folder {folder!r} does not exist: create it first (mkdir -p {shlex.quote(folder)})")


def _write(path: str, text: str) -> None:
    with atomic_write(path) as f:
        f.write(text.encode("utf-8"))


def _course_of(ex, pack: str | None) -> str | None:
    """The --pack a check of ``ex`` needs: the course's, unless ``ex`` is the built-in pack's."""
    return None if pack is None or ex.number in {b.number for b in catalog.builtin()} else pack


def _start(args) -> int:
    ex = catalog.find(args.number, args.pack)
    path = args.path or ex.filename
    if os.path.isdir(path) or path.endswith(("/", os.sep)):  # a folder: the default name inside it
        path = os.path.join(path, ex.filename)
    _refuse_missing_folder(path)
    _refuse_existing([path], args.force)
    _write(path, ex.file(pack=_course_of(ex, args.pack), path=os.path.basename(path)))  # checked beside it
    print(f"wrote {path}: exercise {ex.number}, {ex.title}")
    print(f"Fill in the TODOs, then: {ex.check_command(path, _course_of(ex, args.pack))}")
    return 0


def _solutions(args) -> int:
    every = catalog.exercises(args.pack)
    if os.path.exists(args.solutions) and not os.path.isdir(args.solutions):
        raise _Usage(f"--solutions {args.solutions!r} is a file; give a folder")
    _refuse_missing_folder(args.solutions)
    os.makedirs(args.solutions, exist_ok=True)
    paths = [os.path.join(args.solutions, ex.filename) for ex in every]
    _refuse_existing(paths, args.force)
    for ex, path in zip(every, paths):
        _write(path, ex.file(solved=True, pack=_course_of(ex, args.pack)))
    print(f"wrote {len(every)} reference solutions into {args.solutions}: {', '.join(ex.filename for ex in every)}")
    return 0


def _check(args) -> int:
    try:
        with open(args.path, encoding="utf-8") as f:
            source = f.read()
    except UnicodeDecodeError:
        raise _Usage(f"cannot read {args.path!r}: it is not text (UTF-8)") from None
    except OSError as e:
        raise _Usage(f"cannot read {args.path!r}: {e.strerror}") from None
    number = args.number if args.number is not None else catalog.number_of(source, args.path)
    if number is None:
        raise _Usage(
            f"cannot tell which exercise {args.path!r} is: its first line does not say 'Exercise N' and its name "
            "is not exNN_...; give --number N"
        )
    if not 0 <= args.timeout < float("inf"):
        raise _Usage(
            f"--timeout must be a number of seconds, 0 or more (0: no limit), not {args.timeout:g}", "bad usage"
        )
    every = catalog.exercises(args.pack)  # a course's pack that cannot be loaded: unreadable
    if number not in {ex.number for ex in every}:
        numbers = ", ".join(str(ex.number) for ex in every)
        raise _Usage(f"there is no exercise {number}; the exercises are {numbers}", "no such exercise")
    ex = catalog.find(number, args.pack)
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        verdict: Verdict = check_source(ex, source, args.path, timeout=args.timeout)  # prints: not in the JSON
    print(verdict.to_json() if args.json else verdict.text)
    return 0 if verdict.ok else 1
