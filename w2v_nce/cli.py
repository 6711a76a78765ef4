"""The `w2v-nce` command line: a thin click layer over the Python API.

Exit codes: 0 success; 1 an error (bad input, an output that cannot be written, divergence), printed as one
line; 2 a usage error; 130 interrupted by SIGINT (Ctrl-C), 143 by SIGTERM; 141 when standard output is
closed early (`w2v-nce pairs ... | head`). Warnings are one line each on standard error.
"""
import contextlib
import functools
import io
import json
import os
import re
import signal
import sys
import threading
import warnings

import click
import numpy as np

from . import api, datasets
from . import plot as plots
from .cache import CorpusCache, default_cache_dir, describe_entry
from .config import FIELDS, LOSSES, given_settings, resolve
from .errors import Interrupted, W2VError, W2VWarning
from .io_utils import atomic_open, format_bytes
from .memory import parse_size
from .vocab import write_vocab

SIGNAL_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


_signals_received = []  # a library may turn Interrupted into a plain KeyboardInterrupt (Ray's blocking calls do)


def _raise_interrupted(signal_number, frame):
    _signals_received.append(signal_number)
    raise Interrupted(signal_number)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"warning: {message}", err=True)


@contextlib.contextmanager
def _signals_and_warnings():
    """SIGTERM is handled as Ctrl-C is (cleanup runs, exit 143), and warnings print as one line."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_interrupted) if in_main_thread else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default", W2VWarning)
            warnings.showwarning = _show_warning
            yield
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def reports_errors(command):
    """Library errors and OS errors become one-line click errors (exit 1), interrupts exit 128 + signal."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            with _signals_and_warnings():
                return command(*args, **kwargs)
        except W2VError as exc:
            raise click.ClickException(" ".join(str(exc).splitlines())) from None
        except KeyboardInterrupt as exc:
            number = getattr(exc, "signal_number", _signals_received[-1] if _signals_received else signal.SIGINT)
            hint = getattr(exc, "hint", "files already written are intact")
            click.echo(f"interrupted ({SIGNAL_NAMES.get(number, number)}); {hint}", err=True)
            sys.exit(128 + number)
        except BrokenPipeError:
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(128 + signal.SIGPIPE)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None
        except MemoryError:
            raise click.ClickException("out of memory; lower --memory-budget, --dim or --threads") from None
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


def _write_output(output, write):
    if output == "-":
        with utf8_stdout() as out:
            write(out)
    else:
        with atomic_open(output, "w", encoding="utf-8", newline="\n") as out:
            write(out)


# ----------------------------------------------------------------------------------------------------
# Options, declared once


@functools.lru_cache(maxsize=None)
def _preset_config(loss=None):
    return resolve(overrides={"loss": loss})


# Settings whose None means "the loss decides": --help shows what they resolve to.
RESOLVED_IN_HELP = ("sampler", "remove_accidental_hits")


def _default_text(name):
    """The default of a setting as --help shows it: the default preset's value, or each preset's where
    they differ (the default preset is the one used when no --loss is given)."""
    def shown(config):
        value = getattr(config, "resolved_" + name) if name in RESOLVED_IN_HELP else getattr(config, name)
        if value is None:
            return None
        flags = FIELDS[name].metadata["flags"]
        if flags:
            return flags[0] if value else flags[1]
        if isinstance(value, float):
            return f"{value:g}"
        return str(value).replace("_", "-")

    default = shown(_preset_config())
    if name == "loss":
        return default
    per_loss = {loss.replace("_", "-"): shown(_preset_config(loss)) for loss in LOSSES}
    if set(per_loss.values()) == {default}:
        return default
    return "by preset: no --loss " + str(default) + ", " + ", ".join(
        f"--loss {loss} {value}" for loss, value in per_loss.items())


def config_option(name):
    """The click option of TrainConfig field `name`, from its schema (config.setting). Its default is None
    (not given), so the preset and the --config file apply unless the option is given."""
    spec = FIELDS[name]
    meta = spec.metadata
    default = _default_text(name)
    help_text = meta["help"] + (f" [default: {default}]" if default else "")
    if meta["flags"]:
        return click.option("/".join(meta["flags"]), name, default=None, help=help_text)
    kind = spec.type.split(" |")[0]
    if meta["choices"]:
        value_type = click.Choice([choice.replace("_", "-") for choice in meta["choices"]])
    elif kind == "int":
        value_type = click.IntRange(min=meta["minimum"])
    else:
        value_type = click.FloatRange(min=meta["above"] if meta["above"] is not None else meta["minimum"],
                                      min_open=meta["above"] is not None, max=meta["below"],
                                      max_open=meta["below"] is not None)
    return click.option("--" + name.replace("_", "-"), name, type=value_type, default=None, help=help_text)


def config_options(names):
    def decorate(command):
        for name in reversed(names):
            command = config_option(name)(command)
        return command
    return decorate


CORPUS_SETTINGS = ["min_count", "max_vocab", "lowercase"]
PAIR_SETTINGS = ["window", "dynamic_window", "subsample", "holdout", "seed"]

corpus_argument = click.argument("corpus", nargs=-1, required=True, type=click.Path(allow_dash=True, dir_okay=False))
config_file_option = click.option(
    "--config", "config_file", metavar="FILE|PRESET", default=None,
    help="YAML file of settings (keys as the options, with '_'), or a shipped preset: fast, balanced, thorough, "
         "best, default, sampled_softmax, nce, neg. Options given here override it.")
output_option = click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
                             help="Output file [default: standard output].")


cache_dir_option = click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                                help="Where encoded corpora are cached [default: $W2V_NCE_CACHE or ~/.cache/w2v-nce].")


def preparation_options(command):
    options = [
        cache_dir_option,
        click.option("--no-cache", is_flag=True, help="Do not read or write the corpus cache."),
        click.option("--memory-budget", default=None, metavar="SIZE",
                     help="Memory for preparing the corpus (e.g. 2G, 25%); counts spill to disk beyond it. "
                          "[default: 25% of physical memory]"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _prepare(corpus, config, cache_dir, no_cache, memory_budget):
    return api.prepare(corpus, api.corpus_settings(config), cache_dir=cache_dir, use_cache=not no_cache,
                       memory_budget=_budget(memory_budget))


def _budget(memory_budget):
    return parse_size(memory_budget, "--memory-budget") if memory_budget is not None else None


# ----------------------------------------------------------------------------------------------------
# Commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="w2v-nce")
def main():
    """Train word2vec skip-gram embeddings with TensorFlow-exact NCE / sampled softmax, and evaluate them."""


@main.command()
@corpus_argument
@config_file_option
@config_options(CORPUS_SETTINGS)
@preparation_options
@output_option
@reports_errors
def vocab(corpus, config_file, cache_dir, no_cache, memory_budget, output, **options):
    """Write the vocabulary, one 'word count' per line, most frequent first (word2vec C -save-vocab format)."""
    encoded = _prepare(corpus, resolve(config_file, options), cache_dir, no_cache, memory_budget)
    _write_output(output, lambda out: write_vocab(encoded.vocab, out))


@main.command()
@corpus_argument
@config_file_option
@config_options(PAIR_SETTINGS + CORPUS_SETTINGS)
@click.option("--epoch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Which training epoch's pairs to write, counted from 1 as `train` counts them "
                   "(subsampling and windows are redrawn each epoch).")
@preparation_options
@output_option
@reports_errors
def pairs(corpus, config_file, epoch, cache_dir, no_cache, memory_budget, output, **options):
    """Write the skip-gram pairs `train` sees, one 'centre<TAB>context' per line (same settings, same config)."""
    config = resolve(config_file, options)
    encoded = _prepare(corpus, config, cache_dir, no_cache, memory_budget)
    words = np.array(encoded.vocab.words, dtype=object)
    blocks = api.pairs(encoded, window=config.window, dynamic_window=config.dynamic_window,
                       subsample=config.subsample, seed=config.seed, epoch=epoch - 1, holdout=config.holdout)

    def write(out):
        for centres, contexts in blocks:
            if centres.size:
                out.write("\n".join(words[centres] + "\t" + words[contexts]))
                out.write("\n")

    _write_output(output, write)


@main.command()
@click.argument("corpus", nargs=-1, type=click.Path(allow_dash=True, dir_okay=False))
@config_file_option
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Output directory. [default: the --resume directory, else w2v-out]")
@click.option("--resume", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Continue the run whose output directory is DIR from its last complete epoch, with its "
                   "settings (only --epochs, to train longer, and where it runs: --threads, --ray, --workers, "
                   "--sync-*, may change) and its corpus files "
                   "unless CORPUS is given.")
@click.option("--init", type=click.Path(exists=True), default=None, metavar="PATH",
              help="Start from the weights of a model.npz, a checkpoint or an output directory (the same "
                   "vocabulary and --dim).")
@click.option("--eval", "evaluations", multiple=True, metavar="FILE",
              help="Score the vectors on this analogy or word-pair file (or shipped set: google-analogies, "
                   "wordsim353, simlex999) after every epoch, into metrics.json and the progress line; repeatable.")
@click.option("--holdout-file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Compute the held-out loss after every epoch on this text file's pairs (see --holdout).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              callback=lambda context, parameter, value: _ray_address(value),
              help="Train on a Ray cluster (pip install 'w2v-nce[ray]'): ADDRESS is 'auto' or HOST:PORT of a running "
                   "one; none starts a local one of this machine's cores. --workers processes of --threads threads "
                   "each train shards of the corpus; the CORPUS paths must be readable at the same paths on every "
                   "node (a shared file system), and w2v-nce installed there. Give the corpus before --ray.")
@config_options(list(FIELDS))
@click.option("--quiet", is_flag=True, help="No progress output.")
@preparation_options
@reports_errors
def train(corpus, config_file, out, resume, init, evaluations, holdout_file, ray_address, quiet, cache_dir, no_cache,
          memory_budget, **options):
    """Train skip-gram embeddings on CORPUS files and write them into --out; a checkpoint is written there
    after every epoch (--resume continues from it).

    Settings come from the loss's preset, then --config, then the options given here. Everything that can
    be checked before training (settings against the vocabulary, memory, the output directory) is."""
    progress = "none" if quiet else ("bar" if sys.stderr.isatty() else "lines")
    run_options = {"cache_dir": cache_dir, "use_cache": not no_cache, "memory_budget": _budget(memory_budget),
                   "evaluations": [_evaluation_file(name) for name in evaluations], "holdout_file": holdout_file,
                   "cluster": ray_address}
    if resume is not None:
        if init is not None:
            raise click.UsageError("--init starts a new run; --resume continues one: give only one of them")
        out = out or resume
        result = api.resume(resume, corpus or None, given_settings(config_file, options), progress=progress,
                            out=out, **run_options)
        config = result.config
    else:
        if not corpus:
            raise click.UsageError("Missing argument 'CORPUS...' (or --resume DIR).")
        out = out or "w2v-out"
        config = resolve(config_file, options)
        result = api.train(corpus, config, progress=progress, out=out, init=init, **run_options)
    if not quiet:
        ran, last = result.config, result.epochs[-1]
        scaled = (f" at lr {ran.lr:g} (from {config.epochs} epochs at lr {config.lr:g}, for a corpus of "
                  f"{result.vocab.total} tokens)" if ran.epochs != config.epochs else "")
        click.echo(f"{len(result.vocab)} words x {ran.dim} dims, {ran.loss} loss, {ran.epochs} epochs{scaled} "
                   f"in {result.seconds:.1f} s (final loss {last['loss']:.4f}/pair); wrote "
                   f"{', '.join(api.OUTPUT_FILES)} to {out}/", err=True)


def _ray_address(value):
    """--ray's value: 'local', 'auto', HOST:PORT or ray://HOST:PORT; a corpus path taken for one is refused."""
    if value is None or value in ("local", "auto") or value.startswith("ray://") or \
            re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d+", value):
        return value
    raise click.BadParameter(f"{value!r} is not a Ray address (auto, HOST:PORT or ray://HOST:PORT); give the "
                             f"corpus files before --ray", param_hint="--ray")


@main.command()
@click.argument("model", type=click.Path(exists=True))
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Write the output files of `train` into this directory.")
@click.option("--projector", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Write vectors.tsv, metadata.tsv and projector_config.pbtxt for the TensorBoard Embedding "
                   "Projector into DIR.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="--projector: only the N most frequent words. [default: all]")
@reports_errors
def export(model, out, projector, limit):
    """Write the output files of `train` (vectors.bin, vectors.txt, vocab.txt, ...) from a MODEL.npz or an
    output directory (--out), e.g. a model kept aside when saving failed; or the TensorBoard projector's
    files from a model, an output directory or a vectors file (--projector)."""
    if out is None and projector is None:
        raise click.UsageError("give --out DIR, --projector DIR, or both")
    if out is not None:
        api.export(model, out)
    if projector is not None:
        rows = api.export_projector(model, projector, limit)
        click.echo(f"wrote {rows} vectors to {os.path.join(projector, 'vectors.tsv')}, their words to "
                   f"metadata.tsv, and projector_config.pbtxt", err=True)


@main.command()
@click.argument("run", type=click.Path(exists=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="PNG file. [default: RUN/training.png, or RUN/words.png with --words]")
@click.option("--words", type=click.IntRange(min=3), default=None, metavar="N",
              help="Instead of the curves: a map of the N most frequent words (PCA of their unit vectors).")
@reports_errors
def plot(run, output, words):
    """Draw a run (an output directory, or its metrics.json): training and held-out losses, per-epoch
    evaluation scores and the learning rate against epochs; or, with --words, a 2-D map of the words.
    Needs matplotlib (pip install 'w2v-nce[plot]')."""
    directory = run if os.path.isdir(run) else os.path.dirname(run)
    if words is not None:
        output = output or os.path.join(directory, "words.png")
        plots.plot_words(_load_vectors(run), words, output)
    else:
        output = output or os.path.join(directory, "training.png")
        plots.plot_run(plots.read_metrics(run), output, title=os.path.basename(os.path.abspath(directory)))
    click.echo(f"wrote {output}", err=True)


vectors_option = click.option(
    "--vectors", default="w2v-out", show_default=True, type=click.Path(),
    help="word2vec text or binary vectors file, model.npz, or an output directory (its vectors.bin).")


def _load_vectors(path):
    target = os.path.join(path, "vectors.bin") if os.path.isdir(path) else path
    if not os.path.exists(target):
        raise click.ClickException(f"{target}: no such vectors file (train first, or pass --vectors)")
    return api.load_vectors(target)


def _evaluation_file(name):
    if not os.path.exists(name) and name in datasets.FILES:
        return datasets.path(name)
    return name


@main.command(name="eval")
@click.argument("files", nargs=-1, required=True)
@vectors_option
@click.option("--restrict-vocab", type=click.IntRange(min=1), default=None,
              help="Only the N most frequent words count. [default: 30000 for analogies, 300000 for word pairs]")
@click.option("--method", type=click.Choice(["3cosadd", "3cosmul"]), default="3cosadd", show_default=True,
              help="Analogy scoring.")
@click.option("--case-sensitive", is_flag=True, help="Match words exactly (default: case-insensitive).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file on stdout.")
@reports_errors
def eval_command(files, vectors, restrict_vocab, method, case_sensitive, as_json):
    """Score vectors on analogy files (questions-words format) and word-similarity files.

    FILES are paths, or the names of the shipped sets: google-analogies, wordsim353, simlex999."""
    embeddings = _load_vectors(vectors)
    for name in files:
        report = api.evaluate(embeddings, _evaluation_file(name), restrict_vocab=restrict_vocab, method=method,
                              case_insensitive=not case_sensitive)
        click.echo(json.dumps(report) if as_json else format_report(report))


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


class QueryCommand(click.Command):
    """Lets query words start with '-' or '+' ('king -man +woman'): an argument that is not one of the
    command's options is split into its sign and its word."""

    def parse_args(self, ctx, args):
        names = {name for param in self.params for name in getattr(param, "opts", []) + getattr(param, "secondary_opts", [])}
        short_with_value = [name for param in self.params if isinstance(param, click.Option) and not param.is_flag
                            for name in param.opts if len(name) == 2]
        split, after_separator = [], False
        for arg in args:
            known = (arg.split("=")[0] in names or arg == "--" or after_separator
                     or any(arg.startswith(name) and arg[2:].isdigit() for name in short_with_value))
            after_separator = after_separator or arg == "--"
            if not known and len(arg) > 1 and arg[0] == "-":
                split.extend(["-", arg[1:]])
            else:
                split.append(arg)
        return super().parse_args(ctx, split)


@main.command(cls=QueryCommand)
@click.argument("query", nargs=-1, required=True)
@vectors_option
@click.option("-n", "--topn", type=click.IntRange(min=1), default=10, show_default=True, help="Neighbours to list.")
@click.option("--restrict-vocab", type=click.IntRange(min=1), default=None,
              help="Only the N most frequent words are candidates. [default: all]")
@click.option("--case-sensitive", is_flag=True,
              help="Match query words exactly (default: a word not found as given matches its most frequent "
                   "case variant, as eval does).")
@reports_errors
def similar(query, vectors, topn, restrict_vocab, case_sensitive):
    """Nearest neighbours by cosine of each WORD, or of an expression such as: king - man + woman (also
    written king -man +woman)."""
    embeddings = _load_vectors(vectors)
    tokens = query_tokens(query)
    if any(t in "+-" for t in tokens):
        queries = [parse_expression(tokens)]
    else:
        queries = [([word], []) for word in tokens]
    for positive, negative in queries:
        found = [embeddings.lookup(w, case_insensitive=not case_sensitive) for w in positive + negative]
        if None in found:
            missing = (positive + negative)[found.index(None)]
            raise click.ClickException(f"'{missing}' is not in the vocabulary of {vectors}")
        positive, negative = found[:len(positive)], found[len(positive):]
        click.echo(f"{' '.join(tokens) if len(queries) == 1 else positive[0]}:")
        for word, score in embeddings.most_similar(positive, negative, topn=topn, restrict_vocab=restrict_vocab):
            click.echo(f"  {word:<24} {score:.4f}")


def query_tokens(args):
    """['king', '-', 'man', '+woman'] or ['king - man + woman'] -> ['king', '-', 'man', '+', 'woman']."""
    tokens = []
    for arg in args:
        for part in arg.split():
            if part[0] in "+-" and len(part) > 1:
                tokens.extend([part[0], part[1:]])
            else:
                tokens.append(part)
    return tokens


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


# ----------------------------------------------------------------------------------------------------
# The corpus cache


@main.group()
def cache():
    """List, clear or prune the corpus cache (its size cap: $W2V_NCE_CACHE_SIZE, default 20G)."""


def _open_cache(cache_dir):
    directory = cache_dir or default_cache_dir()
    if not os.path.isdir(directory):
        raise click.ClickException(f"{directory}: no corpus cache there")
    return CorpusCache(directory)


@cache.command(name="list")
@cache_dir_option
@reports_errors
def cache_list(cache_dir):
    """One line per entry, least recently used first: key, size, last use, settings, files."""
    store = _open_cache(cache_dir)
    entries = store.entries()
    for info in entries:
        click.echo(describe_entry(info))
    click.echo(f"{len(entries)} entries, {format_bytes(sum(i.bytes for i in entries))} in {store.directory} "
               f"(cap {format_bytes(store.max_bytes)})", err=True)


@cache.command(name="clear")
@click.argument("keys", nargs=-1)
@cache_dir_option
@reports_errors
def cache_clear(keys, cache_dir):
    """Delete the given entries, or every entry; entries in use by a running command are kept."""
    store = _open_cache(cache_dir)
    known = {info.key: info for info in store.entries()}
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise click.ClickException(f"no cache entry {unknown[0]} in {store.directory}")
    busy = [key for key in (keys or list(known)) if not store.remove(key)]
    click.echo(f"removed {len(keys or known) - len(busy)} entries"
               + (f"; {len(busy)} in use kept: {' '.join(busy)}" if busy else ""), err=True)


@cache.command(name="prune")
@click.option("--max-size", default=None, metavar="SIZE",
              help="Remove least recently used entries until the cache is at most SIZE [default: the cap].")
@cache_dir_option
@reports_errors
def cache_prune(max_size, cache_dir):
    """Remove least recently used entries until the cache fits its size cap."""
    store = _open_cache(cache_dir)
    limit = parse_size(max_size, "--max-size") if max_size else store.max_bytes
    removed = store.prune(limit)
    click.echo(f"removed {len(removed)} entries ({format_bytes(sum(i.bytes for i in removed))})", err=True)
