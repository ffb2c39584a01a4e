"""The `dagc` command: arguments, what each command prints, exit codes. The only place that prints or exits."""
