"""Orchestration glue behind ./vigil: configuration, the local stack, the stream
launcher and the demo. Stdlib + PyYAML + requests only."""
