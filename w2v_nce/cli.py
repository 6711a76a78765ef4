"""The `w2v-nce` command line: a thin click layer over the Python API.

Exit codes: 0 success; 1 a W2VError (bad input, divergence), printed as one line; 2 a usage error.
"""
import contextlib
import functools
import io
import json
import os
import sys

import click
import numpy as np

from . import api
from .config import resolve
from .corpus import CorpusSettings
from .errors import W2VError
from .io_utils import atomic_open
from .vocab import write_vocab


def reports_errors(command):
    """Turn library errors into one-line click errors (exit code 1) and Ctrl-C into exit code 130."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except W2VError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted; files already written are intact", err=True)
            sys.exit(130)
    return wrapper


@contextlib.contextmanager
def utf8_stdout():
    """Standard output as UTF-8 text with '\n' line ends, whatever the locale: the same bytes as `-o FILE`."""
    sys.stdout.flush()
    stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    try:
        yield stream
    finally:
        stream.flush()
        stream.detach()  # leave sys.stdout's buffer open


corpus_argument = click.argument("corpus", nargs=-1, required=True, type=click.Path(allow_dash=True, dir_okay=False))


def corpus_options(command):
    options = [
        click.option("--min-count", type=click.IntRange(min=1), default=5, show_default=True,
                     help="Drop words seen fewer times."),
        click.option("--max-vocab", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Keep only this many most frequent words (0: no cap)."),
        click.option("--lowercase", is_flag=True, help="Lowercase words (Unicode) before counting."),
        click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                     help="Where encoded corpora are cached [default: $W2V_NCE_CACHE or ~/.cache/w2v-nce]."),
        click.option("--no-cache", is_flag=True, help="Do not read or write the corpus cache."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings(min_count, max_vocab, lowercase):
    return CorpusSettings(min_count=min_count, max_vocab=max_vocab, lowercase=lowercase)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="w2v-nce")
def main():
    """Train word2vec skip-gram embeddings with TensorFlow-exact NCE / sampled softmax, and evaluate them."""


@main.command()
@corpus_argument
@corpus_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="Output file [default: standard output].")
@reports_errors
def vocab(corpus, min_count, max_vocab, lowercase, cache_dir, no_cache, output):
    """Write the vocabulary, one 'word count' per line, most frequent first (word2vec C -save-vocab format)."""
    encoded = api.prepare(corpus, _settings(min_count, max_vocab, lowercase), cache_dir=cache_dir, use_cache=not no_cache)
    if output == "-":
        with utf8_stdout() as out:
            write_vocab(encoded.vocab, out)
    else:
        encoded.vocab.save(output)


@main.command()
@corpus_argument
@click.option("--window", type=click.IntRange(min=1), required=True, help="Maximum context distance.")
@click.option("--no-dynamic-window", is_flag=True, help="Always use the full window (default: b ~ U{1..W} per centre).")
@click.option("--subsample", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Subsampling threshold t of frequent words (0 disables).")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True, help="Random seed.")
@click.option("--epoch", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which training epoch's pairs to write (subsampling and windows are redrawn each epoch).")
@corpus_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="Output file [default: standard output].")
@reports_errors
def pairs(corpus, window, no_dynamic_window, subsample, seed, epoch, min_count, max_vocab, lowercase, cache_dir,
          no_cache, output):
    """Write the skip-gram pairs the trainer sees, one 'centre<TAB>context' per line."""
    encoded = api.prepare(corpus, _settings(min_count, max_vocab, lowercase), cache_dir=cache_dir, use_cache=not no_cache)
    words = np.array(encoded.vocab.words, dtype=object)
    blocks = api.pairs(encoded, window=window, dynamic_window=not no_dynamic_window, subsample=subsample,
                       seed=seed, epoch=epoch)

    def write(out):
        for centres, contexts in blocks:
            if centres.size:
                out.write("\n".join(words[centres] + "\t" + words[contexts]))
                out.write("\n")

    if output == "-":
        with utf8_stdout() as out:
            write(out)
    else:
        with atomic_open(output, "w", encoding="utf-8", newline="\n") as out:
            write(out)


def _choice_value(value):
    return None if value is None else value.replace("-", "_")


@main.command()
@corpus_argument
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="YAML file of settings (keys as the options below, with '_'); options given here override it.")
@click.option("--out", default="w2v-out", show_default=True, type=click.Path(file_okay=False),
              help="Output directory.")
@click.option("--loss", type=click.Choice(["sampled-softmax", "nce", "neg"]), default=None,
              help="Loss; its tuned preset (configs/<loss>.yaml) supplies the defaults. [default: sampled-softmax]")
@click.option("--sampler", type=click.Choice(["log-uniform", "unigram", "uniform"]), default=None,
              help="Candidate sampler. [default: log-uniform; unigram for neg]")
@click.option("--distortion", type=float, default=None, help="Unigram sampler exponent. [default: 0.75]")
@click.option("--num-sampled", type=click.IntRange(min=1), default=None,
              help="Candidates per batch (nce, sampled-softmax) or negatives per pair (neg). [default: preset]")
@click.option("--dim", type=click.IntRange(min=1), default=None, help="Vector size. [default: 100]")
@click.option("--window", type=click.IntRange(min=1), default=None, help="Maximum context distance. [default: 5]")
@click.option("--dynamic-window/--no-dynamic-window", default=None,
              help="Draw each centre's window from 1..W. [default: dynamic]")
@click.option("--min-count", type=click.IntRange(min=1), default=None, help="Drop rarer words. [default: 5]")
@click.option("--max-vocab", type=click.IntRange(min=0), default=None, help="Vocabulary cap, 0: none. [default: 0]")
@click.option("--subsample", type=click.FloatRange(min=0), default=None,
              help="Subsampling threshold, 0 disables. [default: 1e-4]")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Passes over the corpus. [default: preset]")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Initial learning rate, decayed linearly. [default: preset]")
@click.option("--min-lr", type=click.FloatRange(min=0), default=None, help="Final learning rate. [default: lr * 1e-4]")
@click.option("--threads", type=click.IntRange(min=0), default=None, help="Worker threads, 0: all cores. [default: 0]")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed. [default: 1]")
@click.option("--remove-accidental-hits/--keep-accidental-hits", default=None,
              help="Mask sampled candidates equal to the label. [default: TF's: keep for nce, remove for sampled-softmax]")
@click.option("--lowercase", is_flag=True, default=None, help="Lowercase words before counting.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where encoded corpora are cached [default: $W2V_NCE_CACHE or ~/.cache/w2v-nce].")
@click.option("--no-cache", is_flag=True, help="Do not read or write the corpus cache.")
@reports_errors
def train(corpus, config_file, out, quiet, cache_dir, no_cache, **options):
    """Train skip-gram embeddings on CORPUS files and write them into --out."""
    options["loss"] = _choice_value(options["loss"])
    options["sampler"] = _choice_value(options["sampler"])
    config = resolve(config_file, options)
    progress = "none" if quiet else ("bar" if sys.stderr.isatty() else "lines")
    result = api.train(corpus, config, progress=progress, cache_dir=cache_dir, use_cache=not no_cache)
    paths = api.save(result, out)
    if not quiet:
        last = result.epochs[-1]
        click.echo(f"{len(result.vocab)} words x {config.dim} dims, {config.loss} loss, {config.epochs} epochs "
                   f"in {result.seconds:.1f} s (final loss {last['loss']:.4f}/pair); wrote "
                   f"{', '.join(os.path.basename(p) for p in paths.values())} to {out}/", err=True)


@main.command(name="eval")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--vectors", default=os.path.join("w2v-out", "vectors.bin"), show_default=True,
              type=click.Path(dir_okay=False), help="word2vec text or binary vectors file.")
@click.option("--restrict-vocab", type=click.IntRange(min=1), default=None,
              help="Only the N most frequent words count. [default: 30000 for analogies, 300000 for word pairs]")
@click.option("--method", type=click.Choice(["3cosadd", "3cosmul"]), default="3cosadd", show_default=True,
              help="Analogy scoring.")
@click.option("--case-sensitive", is_flag=True, help="Match words exactly (default: case-insensitive).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file on stdout.")
@reports_errors
def eval_command(files, vectors, restrict_vocab, method, case_sensitive, as_json):
    """Score vectors on analogy files (questions-words format) and word-similarity files."""
    embeddings = _load_vectors(vectors)
    for path in files:
        report = api.evaluate(embeddings, path, restrict_vocab=restrict_vocab, method=method,
                              case_insensitive=not case_sensitive)
        click.echo(json.dumps(report) if as_json else format_report(report))


def _load_vectors(path):
    if not os.path.exists(path):
        raise click.ClickException(f"{path}: no such vectors file (train first, or pass --vectors)")
    return api.load_vectors(path)


def format_report(report):
    if report["task"] == "similarity":
        return (f"{report['file']}: Spearman {report['spearman']:.4f}, Pearson {report['pearson']:.4f} "
                f"({report['pairs'] - report['oov_pairs']}/{report['pairs']} pairs, {report['oov_pairs']} with "
                f"unknown words)")
    lines = [f"{report['file']} ({report['method']}, {report['restrict_vocab']} most frequent words)",
             f"  {'section':<32} {'accuracy':>9} {'correct':>8} {'answered':>9} {'questions':>10}"]
    for section in report["sections"]:
        lines.append(_report_row(section["name"], section["correct"], section["answered"], section["questions"]))
    for part in ("semantic", "syntactic"):
        lines.append(_report_row(part, report[part]["correct"], report[part]["answered"], None))
    lines.append(_report_row("total", report["correct"], report["total_answered"], report["total_questions"]))
    coverage = report["total_answered"] / report["total_questions"] if report["total_questions"] else 0.0
    lines.append(f"  accuracy {report['accuracy']:.4f}, coverage {coverage:.4f} "
                 f"({report['total_answered']}/{report['total_questions']} questions answered)")
    return "\n".join(lines)


def _report_row(name, correct, answered, questions):
    accuracy = f"{correct / answered:.4f}" if answered else "-"
    return f"  {name:<32} {accuracy:>9} {correct:>8} {answered:>9} {questions if questions is not None else '':>10}"


@main.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--vectors", default=os.path.join("w2v-out", "vectors.bin"), show_default=True,
              type=click.Path(dir_okay=False), help="word2vec text or binary vectors file.")
@click.option("-n", "--topn", type=click.IntRange(min=1), default=10, show_default=True, help="Neighbours to list.")
@reports_errors
def similar(query, vectors, topn):
    """Nearest neighbours by cosine of each WORD, or of an expression such as: king - man + woman."""
    embeddings = _load_vectors(vectors)
    tokens = " ".join(query).replace("+", " + ").replace(" -", " - ").split()
    if any(t in "+-" for t in tokens):
        queries = [parse_expression(tokens)]
    else:
        queries = [([word], []) for word in tokens]
    for positive, negative in queries:
        missing = [w for w in positive + negative if w not in embeddings]
        if missing:
            raise click.ClickException(f"'{missing[0]}' is not in the vocabulary of {vectors}")
        click.echo(f"{' '.join(tokens) if len(queries) == 1 else positive[0]}:")
        for word, score in embeddings.most_similar(positive, negative, topn=topn):
            click.echo(f"  {word:<24} {score:.4f}")


def parse_expression(tokens):
    """'a - b + c' -> (['a', 'c'], ['b']); a leading word counts as positive."""
    positive, negative, sign = [], [], "+"
    for token in tokens:
        if token in ("+", "-"):
            sign = token
            continue
        (positive if sign == "+" else negative).append(token)
        sign = "+"
    if not positive and not negative:
        raise click.UsageError("the expression names no word")
    return positive, negative
