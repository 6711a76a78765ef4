"""What can be checked before training is checked before training: settings against the vocabulary, the
memory the model and the threads' scratch will take, the output directory (writable, room for the outputs'
known sizes) and whether every word can be written. Each failure is a one-line error that names the option
to change; a run that would learn from almost nothing gets a warning."""
import warnings

import numpy as np

from .corpus import EncodedCorpus, check_encoding
from .errors import ConfigError, OutputError, W2VWarning
from .io_utils import check_output_directory, format_bytes
from .memory import available_memory
from .pairs import max_contexts
from .simd import padded_dim
from .train import worker_count
from .words import unwritable

MEMORY_HEADROOM = 0.9      # of available memory a run may plan to take
TOO_FEW_KEPT = 0.05        # warn when subsampling keeps less than this fraction of the tokens,
FEW_TOKENS = 10_000        # or fewer tokens than this, dropping most


def check_settings(config, vocab):
    """ConfigError for settings that cannot work with this vocabulary."""
    if config.loss != "neg" and config.num_sampled > len(vocab):
        raise ConfigError(
            f"--num-sampled {config.num_sampled} is more than the {len(vocab)} words of the vocabulary "
            f"(the {config.loss.replace('_', ' ')} candidates of a batch are distinct, as TensorFlow's "
            f"unique=True sampler draws them); lower --num-sampled to at most {len(vocab)} or --min-count")


def training_memory(config, vocab_size, room, threads):
    """[(bytes, option to lower, what)] of what training allocates, largest first."""
    dim, sampled = config.dim, config.num_sampled
    parts = [
        (vocab_size * (2 * 4 * padded_dim(dim) + 4), "--dim",
         f"the model ({vocab_size} words x {dim} dimensions x 2 matrices)"),
        (vocab_size * 8 * (6 + threads), "--threads" if threads > 1 else "--max-vocab",
         f"the vocabulary tables ({vocab_size} words, {threads} threads)"),
        (threads * room * (4 * dim + 8 * (sampled + 5)), "--window",
         f"the threads' context scratch ({threads} threads x {room} contexts)"),
        (threads * sampled * (4 * dim + 32), "--num-sampled",
         f"the threads' candidate scratch ({threads} threads x {sampled} candidates)"),
    ]
    private_rows = min(config.private_rows, vocab_size) if threads > 1 else 0  # as train.Hogwild takes them
    if private_rows:
        parts.append((threads * private_rows * (2 * 4 * padded_dim(dim) + 8), "--private-rows",
                      f"the threads' private rows ({threads} threads x {private_rows} rows)"))
    return sorted(parts, reverse=True)


def check_memory(config, corpus):
    """ConfigError naming the setting to lower when training would not fit in available memory."""
    threads = worker_count(config, corpus.n_tokens)
    parts = training_memory(config, len(corpus.vocab), max_contexts(config.window, corpus.longest_sentence), threads)
    needed, available = sum(p[0] for p in parts), available_memory()
    if needed > MEMORY_HEADROOM * available:
        largest, option, what = parts[0]
        raise ConfigError(f"training needs about {format_bytes(needed)} of memory but {format_bytes(available)} "
                          f"is available; most of it ({format_bytes(largest)}) is {what}: lower {option}")


def warn_if_subsampling_keeps_little(config, vocab):
    """A small corpus under the default subsampling threshold trains on almost nothing: say so."""
    if config.subsample <= 0:
        return
    kept = float((vocab.keep_probabilities(config.subsample) * vocab.counts).sum())
    if kept >= TOO_FEW_KEPT * vocab.total and (kept >= FEW_TOKENS or kept >= 0.5 * vocab.total):
        return
    better = config.subsample
    while better < 1 and float((vocab.keep_probabilities(better) * vocab.counts).sum()) < 0.5 * vocab.total:
        better *= 10
    warnings.warn(f"--subsample {config.subsample:g} keeps about {kept:.0f} of the corpus's {vocab.total} tokens per "
                  f"epoch ({kept / vocab.total:.1%}): too few to learn from; for a corpus this small use "
                  f"--subsample {better:g}, or 0 to keep every token", W2VWarning, stacklevel=2)


def output_bytes(vocab, dim):
    """About how many bytes the output files of a model take (vectors.bin, .txt, vocab, model.npz, checkpoint)."""
    word_bytes = sum(len(w.encode("utf-8")) for w in vocab.words)
    n = len(vocab)
    binary = word_bytes + n * (4 * dim + 2)
    text = word_bytes + n * (11 * dim + 1)
    vocab_file = word_bytes + n * 12
    model = 2 * 4 * n * dim + 12 * n + word_bytes + 4096
    checkpoint = model  # the same arrays and words, less the counts, plus a small record
    return binary + text + vocab_file + model + checkpoint + (1 << 20)


def check_output(out_dir, vocab, dim):
    """OutputError unless `out_dir` is writable with room for the outputs and every word can be written."""
    problem = unwritable(vocab.words)
    if problem:
        raise OutputError(f"the vocabulary's {problem}")
    check_output_directory(out_dir, output_bytes(vocab, dim))


def check_corpus(corpus):
    """The encoded arrays index the model unchecked in the kernels: make sure they are in range."""
    check_encoding(np.asarray(corpus.ids), np.asarray(corpus.offsets), len(corpus.vocab),
                   corpus.cache_path or "the encoded corpus")


def check_run(corpus, config, out_dir=None):
    """Every check above, settings before the output directory: raises ConfigError, CorpusError or
    OutputError, and warns when subsampling leaves too little to learn from."""
    if isinstance(corpus, EncodedCorpus):  # a cluster's workers encode their shards with the vocabulary's ids
        check_corpus(corpus)
    check_settings(config, corpus.vocab)
    check_memory(config, corpus)
    if out_dir is not None:
        check_output(out_dir, corpus.vocab, config.dim)
    warn_if_subsampling_keeps_little(config, corpus.vocab)
