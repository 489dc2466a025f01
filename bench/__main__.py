"""``python -m bench list [--config config/config.yaml]``: every table and figure with its status."""
from __future__ import annotations

import argparse

import yaml

from bench.catalog import catalog, format_catalog


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("command", choices=["list"])
    parser.add_argument("--config", default="config/config.yaml", help="the workflow config naming the tables and figures")
    args = parser.parse_args(argv)
    with open(args.config) as handle:
        config = yaml.safe_load(handle)
    print(format_catalog(catalog(config["tables"], figures=config.get("figures", {}))))


if __name__ == "__main__":
    main()
