"""Sub-commands of `seagull`, one module each; every module exposes `command`."""
