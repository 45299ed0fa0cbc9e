"""spark-submit entry point of the Vigil streaming job (see vigil_stream.job)."""

import sys

from vigil_stream.job import main

if __name__ == "__main__":
    sys.exit(main())
