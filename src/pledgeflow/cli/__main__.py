"""`python -m pledgeflow.cli …`: the same command line as the `pledgeflow` entry point."""

from pledgeflow.cli.main import main

main()
