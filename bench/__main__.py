import sys

from bench.harness.runner import main

sys.exit(main())
