# What can be built: `snakemake list` prints every table and figure of the paper map with its status (as
# `python -m bench list` does), and a target no rule builds fails at once with its status on the paper map or
# the closest target names, instead of a bare MissingRuleException.
import re

from bench.catalog import catalog, format_catalog, unknown_target_message


def not_one_of(names, then):
    """A wildcard pattern for one path part that is none of ``names`` (``then``: the text that follows the
    wildcard in the path pattern, since the lookahead sees the whole path)."""
    return f"(?!(?:{'|'.join(map(re.escape, names))}){re.escape(then)})[^/]+" if names else "[^/]+"


def refuse_target(path):
    def refuse(w):
        raise WorkflowError(unknown_target_message(path.format(**w), config["tables"], config["figures"]))
    return refuse


rule list:
    """Print every table and figure of the paper map: implemented, quoted only or not yet, and built or not."""
    localrule: True
    run:
        print(format_catalog(catalog(config["tables"], figures=config["figures"])))


rule unknown_table:
    input:
        refuse_target("tables/{name}.md"),
    output:
        "tables/{name}.md",
    wildcard_constraints:
        name=not_one_of(list(config["tables"]), then=".md"),


rule unknown_figure:
    input:
        refuse_target("figures/{name}.{ext}"),
    output:
        "figures/{name}.{ext}",
    wildcard_constraints:
        name=not_one_of(list(config["figures"]), then="."),


rule unknown_name:
    input:
        refuse_target("{name}"),
    output:
        "{name}",
    wildcard_constraints:
        name=r"[^/.]+",
