import sys

from artcnn.cli import main

sys.exit(main())
