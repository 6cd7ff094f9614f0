"""Fail when etc/qinling.conf.sample differs from what the options generate.

Regenerate with:
  .venv/bin/oslo-config-generator --config-file etc/qinling/qinling-config-generator.conf
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATOR_CONF = os.path.join(ROOT, "etc", "qinling", "qinling-config-generator.conf")
SAMPLE = os.path.join(ROOT, "etc", "qinling.conf.sample")


def generate(output: str) -> None:
    generator = os.path.join(os.path.dirname(sys.executable), "oslo-config-generator")
    subprocess.run(
        [generator, "--config-file", GENERATOR_CONF, "--output-file", output],
        check=True,
        cwd=ROOT,
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = os.path.join(tmp, "qinling.conf.sample")
        generate(fresh)
        with open(fresh) as new, open(SAMPLE) as old:
            if new.read() == old.read():
                return 0
    print(f"{SAMPLE} is out of date; regenerate it with:\n  {__doc__.splitlines()[3]}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
