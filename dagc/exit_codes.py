"""The exit codes of the `dagc` command, shared by every subcommand (`dagc.cli.main`, `dagc.cli.launch`);
the README, `dagc --help` and docs/limits.md list them. No imports: the CLI starts without the compiler."""

EXIT_OK = 0             # valid, every requirement met (or none given) and the traffic carried
EXIT_REQUIREMENTS = 1   # valid, but a requirement is not met or could not be judged, or the traffic not carried
#                         or not simulated (W518: whether it is carried not known), requirements or none
EXIT_USAGE = 2          # bad command-line arguments
EXIT_INVALID = 3        # the plan is invalid (a rule error), or no engine can launch it
EXIT_INPUT = 4          # input or syntax error (unreadable or refused file, E0xx, E1xx)
EXIT_OUTPUT = 5         # the outputs could not be written
EXIT_INTERRUPTED = 130  # Ctrl-C
