"""``python -m bench list``: every table and figure with its status. ``python -m bench report [targets]``: the
Snakemake HTML report (report.html) of the named targets that are built, all configured ones by default; it names
those not built yet and the command that builds them (``snakemake --report`` alone refuses a target that does not
exist). Other options after the targets go to snakemake (e.g. ``--configfile``)."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

from bench.catalog import catalog, format_catalog


def report(targets: list[str], out: str, snakemake_args: list[str]) -> int:
    built = [target for target in targets if Path(target).exists()]
    missing = [target for target in targets if target not in built]
    if missing:
        print(f"not built yet, left out of the report: {' '.join(missing)}\n"
              f"build them with: snakemake --cores 2 {' '.join(missing)}")
    if not built:
        print("nothing built yet: no report written")
        return 0
    return subprocess.run([sys.executable, "-m", "snakemake", "--report", out, *built, *snakemake_args]).returncode


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("command", choices=["list", "report"])
    parser.add_argument("targets", nargs="*", help="report: tables/<name>.md or figures/<name>.png")
    parser.add_argument("--config", default="config/config.yaml", help="the workflow config naming the tables and figures")
    parser.add_argument("--out", default="report.html", help="report: the HTML file written")
    args, snakemake_args = parser.parse_known_args(argv)
    with open(args.config) as handle:
        config = yaml.safe_load(handle)
    if args.command == "report":
        targets = args.targets or ([f"tables/{name}.md" for name in config["tables"]]
                                   + [f"figures/{name}.png" for name in config.get("figures", {})])
        sys.exit(report(targets, args.out, snakemake_args))
    print(format_catalog(catalog(config["tables"], figures=config.get("figures", {}))))


if __name__ == "__main__":
    main()
