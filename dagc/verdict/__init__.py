"""One strategy's answers: every stage once in order (`analyse`), requirements, the three verdicts, `check`."""
