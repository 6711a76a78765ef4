"""The training configuration: one frozen, validated dataclass, loaded from presets and YAML files.

Config flows one way: the loss's preset (configs/<loss>.yaml, or configs/default.yaml), then a YAML file
given with --config, then command-line options; `resolve` validates the merged mapping once.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from .errors import ConfigError

LOSSES = ("sampled_softmax", "nce", "neg")
SAMPLERS = ("log_uniform", "unigram", "uniform")


@dataclass(frozen=True)
class TrainConfig:
    loss: str = "sampled_softmax"
    sampler: str | None = None          # None: log_uniform for nce / sampled_softmax, unigram for neg
    distortion: float = 0.75            # unigram sampler: P(k) ~ count^distortion
    num_sampled: int = 5                # candidates per batch (nce, sampled_softmax) or negatives per pair (neg)
    remove_accidental_hits: bool | None = None  # None: TF's default (False for nce, True for sampled_softmax)
    dim: int = 100
    window: int = 5
    dynamic_window: bool = True
    min_count: int = 5
    max_vocab: int = 0                  # 0: no cap
    subsample: float = 1e-4
    lowercase: bool = False
    epochs: int = 5
    lr: float = 0.025
    min_lr: float | None = None         # None: lr * 1e-4
    threads: int = 0                    # 0: all cores
    seed: int = 1

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

    def to_dict(self):
        """Every field, with defaults that depend on others filled in (re-runnable with --config)."""
        values = dataclasses.asdict(self)
        values.update(sampler=self.resolved_sampler, remove_accidental_hits=self.resolved_remove_accidental_hits,
                      min_lr=self.resolved_min_lr, threads=self.resolved_threads)
        return values

    def to_yaml(self):
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


FIELD_TYPES = {f.name: f.type for f in fields(TrainConfig)}


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
        raise ConfigError(f"{source}: '{name}' must be true or false, got {value!r}")
    if base == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{source}: '{name}' must be an integer, got {value!r}")
    if base == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{source}: '{name}' must be a number, got {value!r}")
    if not isinstance(value, str):
        raise ConfigError(f"{source}: '{name}' must be a string, got {value!r}")
    return _normalize_choice(value)


def validate(values, source="configuration"):
    """Check a merged mapping of config values and build the TrainConfig (ConfigError names the key)."""
    unknown = sorted(set(values) - set(FIELD_TYPES))
    if unknown:
        raise ConfigError(f"{source}: unknown key '{unknown[0]}' (known keys: {', '.join(FIELD_TYPES)})")
    checked = {name: _check_type(name, value, source) for name, value in values.items()}
    config = TrainConfig(**checked)
    rules = [
        (config.loss in LOSSES, "loss", f"must be one of {', '.join(LOSSES)}"),
        (config.sampler is None or config.sampler in SAMPLERS, "sampler", f"must be one of {', '.join(SAMPLERS)}"),
        (config.distortion >= 0, "distortion", "must be >= 0"),
        (config.num_sampled >= 1, "num_sampled", "must be >= 1"),
        (config.dim >= 1, "dim", "must be >= 1"),
        (config.window >= 1, "window", "must be >= 1"),
        (config.min_count >= 1, "min_count", "must be >= 1"),
        (config.max_vocab >= 0, "max_vocab", "must be >= 0 (0: no cap)"),
        (config.subsample >= 0, "subsample", "must be >= 0 (0 disables)"),
        (config.epochs >= 1, "epochs", "must be >= 1"),
        (config.lr > 0, "lr", "must be > 0"),
        (config.min_lr is None or 0 <= config.min_lr <= config.lr, "min_lr", "must be between 0 and lr"),
        (config.threads >= 0, "threads", "must be >= 0 (0: all cores)"),
        (0 <= config.seed < 2 ** 63, "seed", "must be between 0 and 2^63 - 1"),
    ]
    for ok, name, rule in rules:
        if not ok:
            raise ConfigError(f"{source}: '{name}' {rule}, got {getattr(config, name)!r}")
    return config


def read_yaml(path):
    """A YAML mapping of config keys; ConfigError for a missing file, bad YAML or a non-mapping."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of keys to values")
    return data


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


def resolve(config_file=None, overrides=None):
    """The preset of the loss, then the YAML file, then the overrides (None means 'not given'),
    validated once. The loss is the one given on the command line, else the file's; without either,
    configs/default.yaml is the base."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    from_file = read_yaml(config_file) if config_file is not None else {}
    loss = overrides.get("loss", from_file.get("loss"))
    if loss is not None and _normalize_choice(loss) not in LOSSES:
        where = "--loss" if "loss" in overrides else f"{config_file}: 'loss'"
        raise ConfigError(f"{where} must be one of {', '.join(LOSSES)}, got {loss!r}")
    values = {**preset(loss), **from_file, **overrides}
    source = str(config_file) if config_file is not None else "configuration"
    return validate(values, source)
