"""The training configuration: one frozen, validated dataclass, loaded from presets and YAML files.

Config flows one way: the loss's preset (configs/<loss>.yaml, or configs/default.yaml), then a YAML file
given with --config, then command-line options; `resolve` validates the merged mapping once.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from .errors import ConfigError, short_repr

LOSSES = ("sampled_softmax", "nce", "neg")
SAMPLERS = ("log_uniform", "unigram", "uniform")
MAX_CONFIG_BYTES = 1 << 20
MAX_YAML_NODES = 10_000  # after alias expansion: a config needs a few dozen
MAX_EPOCH_SCALE = 3.0


def tidy(value):
    """A float rounded to 12 significant digits, so that lr * 1e-4 reads 4e-06, not 4.000000000000001e-06."""
    return float(f"{value:.12g}")


def setting(default, help, minimum=None, above=None, below=None, choices=None, flags=None):
    """A TrainConfig field with what the command line and validation need to know of it: the help text,
    bounds (minimum: >=, above: >, below: <), the choices, or the two flag names of a boolean."""
    return field(default=default, metadata={"help": help, "minimum": minimum, "above": above, "below": below,
                                            "choices": choices, "flags": flags})


@dataclass(frozen=True)
class TrainConfig:
    loss: str = setting("sampled_softmax", "Loss; its tuned preset (configs/<loss>.yaml) supplies the defaults, "
                                           "as configs/default.yaml does when no loss is named.", choices=LOSSES)
    sampler: str | None = setting(None, "Candidate sampler.",
                                  choices=SAMPLERS)
    distortion: float = setting(0.75, "Unigram sampler exponent: P(k) ~ count^distortion.", minimum=0)
    num_sampled: int = setting(5, "Candidates per batch (nce, sampled-softmax) or negatives per pair (neg).",
                               minimum=1)
    remove_accidental_hits: bool | None = setting(
        None, "Mask sampled candidates equal to the label (TF's defaults: keep for nce, remove for "
              "sampled-softmax).", flags=("--remove-accidental-hits", "--keep-accidental-hits"))
    share_negatives: bool = setting(
        False, "neg: draw each centre word's negatives once and share them among its contexts, one batched step "
               "per centre (pWord2Vec's HogBatch), instead of per pair (word2vec C).",
        flags=("--share-negatives", "--negatives-per-pair"))
    private_rows: int = setting(
        0, "With more than one thread, each thread trains its own copy of the output rows and biases of this "
           "many most frequent words and adds its changes to the shared ones every 1,000 tokens, so the rows "
           "all threads write stop moving between the cores at every step (0: every row shared, Hogwild).",
        minimum=0)
    dim: int = setting(100, "Vector size.", minimum=1)
    window: int = setting(5, "Maximum context distance.", minimum=1)
    dynamic_window: bool = setting(True, "Draw each centre's window from 1..window.",
                                   flags=("--dynamic-window", "--no-dynamic-window"))
    min_count: int = setting(5, "Drop words seen fewer times.", minimum=1)
    max_vocab: int = setting(0, "Keep only this many most frequent words (0: no cap).", minimum=0)
    subsample: float = setting(1e-4, "Subsampling threshold of frequent words (0 disables).", minimum=0)
    lowercase: bool = setting(False, "Lowercase words (Unicode) before counting.",
                              flags=("--lowercase", "--no-lowercase"))
    holdout: float = setting(0.0, "Hold out this fraction of the corpus's sentences (chosen by a hash of the seed "
                                  "and the sentence's index), never trained on; their pairs give the held-out loss "
                                  "in metrics.json.", minimum=0, below=1)
    epochs: int = setting(5, "Passes over the corpus.", minimum=1)
    small_corpus_tokens: int = setting(
        0, "A corpus of fewer in-vocabulary tokens than this trains epochs * (this / tokens)^(1/3) epochs (at "
           "most 3x) at lr / sqrt(that factor): a small corpus needs more passes. 0: epochs and lr as given, "
           "which an explicit --epochs also means unless this is given too.", minimum=0)
    lr: float = setting(0.025, "Initial learning rate, decayed linearly.", above=0)
    min_lr: float | None = setting(None, "Final learning rate (default: lr * 1e-4).", minimum=0)
    threads: int = setting(0, "Worker threads (0: all cores; with --ray, each worker's threads, 0: the cluster's "
                              "cores shared among the workers).", minimum=0)
    workers: int = setting(0, "--ray: worker processes, each training on its shard of the corpus with its own "
                              "replica of the model (0: one per node of the cluster).", minimum=0)
    sync_tokens: int = setting(200_000, "--ray: tokens each worker trains between two merges of the "
                                        "replicas (0.1 to 0.2 s of a worker's training suits).", minimum=1000)
    sync_rows: int = setting(1024, "--ray: rows of the most frequent words synced at every merge; the rarer "
                                   "rows follow in blocks of doubling size, each block half as often as the one "
                                   "before, and every row at the end of each epoch.", minimum=1)
    seed: int = setting(1, "Random seed.", minimum=0)

    @property
    def resolved_sampler(self):
        return self.sampler or ("unigram" if self.loss == "neg" else "log_uniform")

    @property
    def resolved_remove_accidental_hits(self):
        if self.remove_accidental_hits is not None:
            return self.remove_accidental_hits
        return self.loss == "sampled_softmax"

    @property
    def resolved_min_lr(self):
        return self.lr * 1e-4 if self.min_lr is None else self.min_lr

    @property
    def resolved_threads(self):
        return self.threads or available_cores()

    def for_corpus(self, n_tokens):
        """The config that trains on a corpus of n_tokens in-vocabulary tokens, by the small_corpus_tokens
        rule: epochs scaled up by (small_corpus_tokens / n_tokens)^(1/3) (at most MAX_EPOCH_SCALE) and the
        learning rate down by the square root of the factor the epochs grew by (many passes at a high rate
        overshoot on small corpora). The rule is then spent (0), so the result re-runs exactly as it ran."""
        if not self.small_corpus_tokens or n_tokens >= self.small_corpus_tokens:
            return dataclasses.replace(self, small_corpus_tokens=0)
        factor = min(MAX_EPOCH_SCALE, (self.small_corpus_tokens / max(n_tokens, 1)) ** (1 / 3))
        epochs = max(self.epochs, round(self.epochs * factor))
        lr = tidy(self.lr / math.sqrt(epochs / self.epochs))
        min_lr = None if self.min_lr is None else min(self.min_lr, lr)
        return dataclasses.replace(self, epochs=epochs, lr=lr, min_lr=min_lr, small_corpus_tokens=0)

    def to_dict(self):
        """Every field, with defaults that depend on others filled in (re-runnable with --config)."""
        values = dataclasses.asdict(self)
        values.update(sampler=self.resolved_sampler, remove_accidental_hits=self.resolved_remove_accidental_hits,
                      min_lr=self.resolved_min_lr, threads=self.resolved_threads)
        return {k: tidy(v) if isinstance(v, float) else v for k, v in values.items()}

    def to_yaml(self):
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


FIELDS = {f.name: f for f in fields(TrainConfig)}
FIELD_TYPES = {name: f.type for name, f in FIELDS.items()}


def _normalize_choice(value):
    return value.replace("-", "_") if isinstance(value, str) else value


def _check_type(name, value, source):
    kind = FIELD_TYPES[name]
    optional = "None" in kind
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{source}: '{name}' must not be empty")
    base = kind.split(" |")[0]
    if base == "bool":
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{source}: '{name}' must be true or false, got {short_repr(value)}")
    if base == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{source}: '{name}' must be an integer, got {short_repr(value)}")
    if base == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{source}: '{name}' must be a number, got {short_repr(value)}")
    if not isinstance(value, str):
        raise ConfigError(f"{source}: '{name}' must be a string, got {short_repr(value)}")
    return _normalize_choice(value)


def validate(values, source="configuration"):
    """Check a merged mapping of config values and build the TrainConfig (ConfigError names the key)."""
    unknown = sorted(set(values) - set(FIELD_TYPES), key=str)
    if unknown:
        raise ConfigError(f"{source}: unknown key {short_repr(unknown[0])} (known keys: {', '.join(FIELD_TYPES)})")
    checked = {name: _check_type(name, value, source) for name, value in values.items()}
    config = TrainConfig(**checked)
    for name, spec in FIELDS.items():
        value, meta = getattr(config, name), spec.metadata
        if value is None:
            continue
        if meta["choices"] and value not in meta["choices"]:
            raise ConfigError(f"{source}: '{name}' must be one of {', '.join(meta['choices'])}, got {short_repr(value)}")
        if meta["minimum"] is not None and value < meta["minimum"]:
            raise ConfigError(f"{source}: '{name}' must be >= {meta['minimum']}, got {short_repr(value)}")
        if meta["above"] is not None and value <= meta["above"]:
            raise ConfigError(f"{source}: '{name}' must be > {meta['above']}, got {short_repr(value)}")
        if meta["below"] is not None and value >= meta["below"]:
            raise ConfigError(f"{source}: '{name}' must be < {meta['below']}, got {short_repr(value)}")
    if config.min_lr is not None and config.min_lr > config.lr:
        raise ConfigError(f"{source}: 'min_lr' must be between 0 and lr, got {short_repr(config.min_lr)}")
    if config.share_negatives and config.loss != "neg":
        raise ConfigError(f"{source}: 'share_negatives' is an option of loss neg; nce and sampled_softmax always "
                          "share a centre word's candidates among its contexts")
    if config.seed >= 2 ** 63:
        raise ConfigError(f"{source}: 'seed' must be between 0 and 2^63 - 1, got {short_repr(config.seed)}")
    return config


def read_yaml(path):
    """A YAML mapping of config keys; ConfigError for a missing file, bad YAML, a non-mapping, or aliases
    that expand to more than MAX_YAML_NODES values."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror or exc})") from None
    return parse_yaml(data, path)


def parse_yaml(data, source):
    """The mapping of YAML bytes (see read_yaml); `source` names them in errors."""
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: larger than {MAX_CONFIG_BYTES >> 20} MB; not a config file")
    try:
        data = _load_bounded(data.decode("utf-8"), source)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else str(source)
        raise ConfigError(f"{where}: invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a config file must be a mapping of keys to values")
    return data


def _load_bounded(text, path):
    """yaml.safe_load, refusing documents whose aliases expand beyond MAX_YAML_NODES nodes (an alias
    bomb); the nodes are counted before any value is built."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        pending, seen = [node], 0
        while pending:
            current = pending.pop()
            seen += 1
            if seen > MAX_YAML_NODES:
                raise ConfigError(f"{path}: the YAML expands to more than {MAX_YAML_NODES} values (aliases); "
                                  "write the settings out")
            if isinstance(current, yaml.SequenceNode):
                pending.extend(current.value)
            elif isinstance(current, yaml.MappingNode):
                for key, value in current.value:
                    pending.extend((key, value))
        return loader.construct_document(node)
    finally:
        loader.dispose()


def preset_dir():
    """configs/: installed as package data w2v_nce/configs, or beside the package in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "configs", here.parent / "configs"):
        if (candidate / "default.yaml").is_file():
            return candidate
    raise ConfigError(f"the presets (configs/*.yaml) are missing from the installation at {here}")


def preset(loss=None):
    """The tuned preset for a loss (configs/<loss>.yaml), or configs/default.yaml without one."""
    name = "default" if loss is None else _normalize_choice(loss)
    return yaml.safe_load((preset_dir() / f"{name}.yaml").read_text(encoding="utf-8")) or {}


def preset_names():
    return sorted(path.stem for path in preset_dir().glob("*.yaml"))


def config_path(config_file):
    """A config file's path: the path given, or the shipped preset of that name (`--config fast`, also where
    the working directory holds a directory of that name, such as a run's output)."""
    if config_file is None or (os.path.exists(config_file) and not os.path.isdir(config_file)):
        return config_file
    shipped = preset_dir() / f"{config_file}.yaml"
    if shipped.is_file():
        return str(shipped)
    problem = "a directory, not a config file" if os.path.isdir(config_file) else "no such config file"
    raise ConfigError(f"{config_file}: {problem}, nor a shipped preset ({', '.join(preset_names())})")


def resolve(config_file=None, overrides=None):
    """The preset of the loss, then the YAML file (a path or a shipped preset's name), then the overrides
    (None means 'not given'), validated once. The loss is the one given on the command line, else the
    file's; without either, configs/default.yaml is the base."""
    from_file, from_options = given_layers(config_file, overrides)
    loss = {**from_file, **from_options}.get("loss")
    if loss is not None and _normalize_choice(loss) not in LOSSES:
        where = "--loss" if "loss" in from_options else f"{config_path(config_file)}: 'loss'"
        raise ConfigError(f"{where} must be one of {', '.join(LOSSES)}, got {short_repr(loss)}")
    values = preset(loss)
    for layer in (from_file, from_options):
        values.update(layer)
        if "epochs" in layer and "small_corpus_tokens" not in layer:
            # epochs given are epochs meant: the size rule scales the epochs of the layer that sets it
            values["small_corpus_tokens"] = 0
    source = str(config_path(config_file)) if config_file is not None else "configuration"
    return validate(values, source)


def given_layers(config_file=None, overrides=None):
    """The settings given explicitly, as (the YAML file's (a path or a shipped preset's name), the overrides
    that are not None)."""
    config_file = config_path(config_file)
    from_file = read_yaml(config_file) if config_file is not None else {}
    return from_file, {k: v for k, v in (overrides or {}).items() if v is not None}


def given_settings(config_file=None, overrides=None):
    """The settings given explicitly: the YAML file's, then the overrides that are not None."""
    from_file, from_options = given_layers(config_file, overrides)
    return {**from_file, **from_options}
