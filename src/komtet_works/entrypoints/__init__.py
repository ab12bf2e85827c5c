"""The edges: the `komtet-works` command line, its commands and what they print.

- `cli`: the parser, the exit codes, refusals as one line (or one JSON document);
- `quote`, `demo`, `scenarios` (``scenario``, ``conformance``), `operations` (the
  operator's commands, one per use case, and the jobs): the commands;
- `presenters`: every shape shown, for people and as JSON, with customers' text escaped
  for terminals.

The service itself is wired by `komtet_works.bootstrap`, never here.
"""
