"""`python -m komtet_works`: the same as the `komtet-works` command."""

import sys

from komtet_works.entrypoints.cli import main

sys.exit(main())
