"""Rule summarize: metrics/*.csv -> summary.csv, summary_buckets.csv, summary_ratios.csv,
comparisons.csv, summary.md, summary.html (logic in restorebench.scoring.summary). dataset.h5's test names are read
too: a metrics file that lost rows is refused, not summarized over fewer images."""

from pathlib import Path

from restorebench import contract
from restorebench.data.dataset import read_attrs, read_names
from restorebench.runtime import provenance
from restorebench.runtime.logs import run_logged
from restorebench.scoring.summary import (
    by_mask_share,
    by_ratio,
    describe_masks,
    load_tables,
    summarize,
    write_csv,
)
from restorebench.scoring.summary_page import provenance_markdown, render_html, render_markdown


def main(smk) -> None:
    settings = {
        "resamples": smk.params.resamples,
        "confidence": smk.params.confidence,
        "seed": smk.params.seed,
    }
    test_names = read_names(Path(smk.input.dataset), "test")
    _, tables = load_tables(
        dict(zip(smk.params.models, map(Path, smk.input.metrics))), test_names=test_names
    )
    stats, comparisons = summarize(tables, [tuple(pair) for pair in smk.params.pairs], **settings)
    mask_columns = contract.mask_score_names()
    mask_tables = {}
    if smk.input.masks:
        _, mask_tables = load_tables(
            dict(zip(smk.params.mask_finders, map(Path, smk.input.masks))),
            mask_columns,
            test_names,
        )
    mask_stats = describe_masks(mask_tables, **settings)
    buckets = by_mask_share(tables, list(smk.params.buckets), **settings)
    write_csv(Path(smk.output.summary), [*stats, *mask_stats], contract.SUMMARY_FIELDS)
    provenance.write(Path(smk.params.record), provenance.record(smk.params.code, settings))
    ratios = by_ratio(tables, **settings)
    write_csv(Path(smk.output.buckets), buckets, contract.BUCKET_FIELDS)
    write_csv(Path(smk.output.ratios), ratios, contract.BUCKET_FIELDS)
    write_csv(Path(smk.output.comparisons), comparisons, contract.COMPARISON_FIELDS)
    origin_stats = None
    if smk.input.origin:
        _, origin_tables = load_tables(
            dict(zip(smk.params.models, map(Path, smk.input.origin))), test_names=test_names
        )
        origin_stats, _ = summarize(origin_tables, [], **settings)
        write_csv(Path(smk.output.origin), origin_stats, contract.SUMMARY_FIELDS)
    markdown = render_markdown(
        stats,
        comparisons,
        smk.params.confidence,
        smk.params.resamples,
        origin_stats,
        buckets=buckets,
        mask_stats=mask_stats,
        ratios=ratios,
    )
    attrs = read_attrs(Path(smk.input.dataset))
    trained = dict(zip(smk.params.trained, map(provenance.read, smk.params.trained_records)))
    scored = dict(zip(smk.params.models, map(provenance.read, smk.params.scored_records)))
    extra = provenance_markdown(
        attrs.get(provenance.ATTRIBUTE), trained, scored, list(attrs.get("task_warnings", []))
    )
    markdown = "\n".join([markdown.rstrip("\n"), *extra, ""])
    Path(smk.output.markdown).write_text(markdown)
    Path(smk.output.html).write_text(render_html(markdown))


if __name__ == "__main__":
    run_logged(snakemake.log[0], lambda: main(snakemake))  # noqa: F821 (injected by Snakemake)
