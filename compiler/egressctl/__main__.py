from __future__ import annotations

from egressctl.cli import main

if __name__ == "__main__":
    main()
