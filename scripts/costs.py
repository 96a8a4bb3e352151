"""Rule costs: benchmarks/*.tsv -> costs.csv, costs.html (logic in restorebench.scoring.costs). It
runs after every other target, so the benchmark files it reads are those of the finished
jobs; they are read from the folder, since no rule declares a benchmark as an output."""

from pathlib import Path

from restorebench.runtime.logs import run_logged
from restorebench.scoring.costs import read_costs, write_costs
from restorebench.scoring.summary_page import costs_markdown, render_html


def main(smk) -> None:
    costs = read_costs(Path(smk.params.benchmarks), exclude=(smk.rule,))
    write_costs(Path(smk.output.csv), costs)
    Path(smk.output.html).write_text(render_html(costs_markdown(costs), title="Costs"))


if __name__ == "__main__":
    run_logged(snakemake.log[0], lambda: main(snakemake))  # noqa: F821 (injected by Snakemake)
