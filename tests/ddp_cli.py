"""Run several `lavps` commands in ONE torchrun launch (process start-up dominates on a small CPU).

Usage: torchrun --nproc_per_node 2 tests/ddp_cli.py CMD1 ARGS... --then CMD2 ARGS...
"""

import sys

from lavps.cli.main import main

if __name__ == "__main__":
    args, commands = sys.argv[1:], [[]]
    for a in args:
        if a == "--then":
            commands.append([])
        else:
            commands[-1].append(a)
    for command in commands:
        try:
            main(command)
        except SystemExit as e:
            if e.code not in (0, None):
                raise
