import sys

from artcnn.terminal import quiet_tensorflow

quiet_tensorflow()

from artcnn.cli import main  # noqa: E402 - after the hook, in case importing the CLI ever imports TensorFlow

sys.exit(main())
