"""Imported by every forkserver we start (its preload list, see ``reading/sandbox.py``),
and by nothing else: its import makes the forkserver end when the process that started it
dies, and so every child it forked (they die with it, ``processes.exit_with_parent``).

Without it a killed parent leaves the forkserver waiting: the children it forked keep the
"parent alive" pipe open, and they wait for work that never comes.
"""

from analyzer.processes import exit_with_parent

exit_with_parent()
