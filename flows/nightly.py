"""Entry point for running the nightly flow as a script (`python flows/nightly.py`); the flow is `pledgeflow.run.flow`."""

from pledgeflow.run.flow import nightly

if __name__ == "__main__":
    nightly()
