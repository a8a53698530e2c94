"""`python -m pledgeflow …`: the same command line as the `pledgeflow` entry point (as `python -m pledgeflow.cli`)."""

from pledgeflow.cli.entry import main

main()
