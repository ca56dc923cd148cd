"""Import an offline session into the server."""

import sys

from clearml import Task

print("TASK", Task.import_offline_session(sys.argv[1]), flush=True)
