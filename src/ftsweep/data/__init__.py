"""Checks of local training data files against their method and the sweep's grader."""
