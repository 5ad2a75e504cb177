import sys

from trainwright.early import main

sys.exit(main())
