"""Start `qisu` commands as forks of a process that imported qisu once (gunicorn's preload).

Importing qisu (torch, transformers, scikit-learn) costs about 10 s of CPU; a chaos run that
restarts processes 20 times cannot pay it each time. Each line on standard input is a JSON
object {"args": [...], "env": {...}, "log": path}; the reply is the pid of a forked process
running `qisu ARGS` with that environment, its output in the log. The processes are real:
their own pid, database connections and sockets, killed with `kill -9` like any other.
"""

import json
import os
import signal
import sys

import app.cli
import app.main  # the import is the point: the forks inherit it

PACKAGES = (
    "accounts app classifier core deadlines evaluations integrations models routing tickets units"
)


def _forget_settings() -> None:
    """Clear every cached setting and connector: the fork reads its own environment."""
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").split(".")[0] in PACKAGES.split():
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def _run(args: list[str], env: dict[str, str], log: str) -> None:
    """The forked child: become `qisu ARGS` and never return."""
    os.setsid()  # its own session: a signal to the launcher's group does not reach it
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(env)
    _forget_settings()
    with open(os.devnull) as nothing, open(log, "ab", buffering=0) as out:
        os.dup2(nothing.fileno(), 0)
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
    sys.argv = ["qisu", *args]
    code = 0
    try:
        app.cli.cli()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def main() -> None:
    """Fork a child for every request line, until standard input closes."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped as they end
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run(request["args"], request["env"], request["log"])
        print(pid, flush=True)


if __name__ == "__main__":
    main()
