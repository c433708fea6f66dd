"""The parts of schema-guided extraction; the entry point is `docvlm.extract.extract`."""
