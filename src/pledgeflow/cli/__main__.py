"""`python -m pledgeflow.cli …`: the same command line as the `pledgeflow` entry point."""

from pledgeflow.cli.entry import main

main()
