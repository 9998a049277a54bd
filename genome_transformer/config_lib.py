# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The base experiment config and its validation.

Every file in `configs/` starts from `base_config()` and overrides what its experiment changes, so
each field is documented once, here. `validate()` runs before anything is built or compiled and
raises `ConfigError` with one line that names the offending field and says what to do.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os

import ml_collections

FEATURE_MAPS = (
  "relu",
  "elu+1",
  "sqr",
  "favor+",
  "hedgehog",
)  # phi of linear attention (model/feature_maps.py's registry).
ATTENTIONS = ("linear", "softmax")
POSITIONS = ("sinusoid", "none")
MAX_MATCH_ORDER = 12  # model.match_order: generation keeps a table of 4^m bytes per sequence (model/match.py).
COMPUTE_DTYPES = ("float32", "bfloat16")  # train.compute_dtype.
MATMUL_PRECISIONS = ("default", "high", "highest")  # jax.default_matmul_precision values (train.matmul_precision).


class ConfigError(ValueError):
  """A config value that cannot work; the message names the field."""


def base_config() -> ml_collections.ConfigDict:
  """Defaults shared by every experiment (unlocked: experiment files override, then lock)."""
  config = ml_collections.ConfigDict()
  config.seed = 0  # Seeds parameter init, data order and the per-step FAVOR+ feature draws.
  # Fine-tuning: "" trains from scratch; otherwise an export directory or a release name (as
  # pretrained.load takes them) whose parameters start the run at step 0 with a fresh optimizer. Its
  # model section must equal config.model; the data, window length and chunk size may differ (e.g. a
  # 1k-context model continued at 16k). A checkpoint in the workdir takes precedence (resume).
  config.init_from = ""

  config.data = ml_collections.ConfigDict()
  config.data.genome = "builtin:bacteria4"  # Corpus: "builtin:NAME", "fetch:PRESET" or comma-separated FASTA paths.
  config.data.data_dir = (
    ""  # TFDS shard directory; "" = <cache>/tfds (cache: $GENOME_TRANSFORMER_CACHE or ~/.cache/genome_transformer).
  )
  config.data.window_length = 1024  # L: tokens per training window.
  config.data.stride = 1024  # Bases between consecutive window starts (= L: no overlap).
  config.data.max_n_fraction = 0.5  # Training windows with a larger fraction of N are dropped.
  config.data.reverse_complement_prob = 0.0  # Each training window is read on the other strand with this probability.

  config.model = ml_collections.ConfigDict()
  config.model.vocab_size = 8  # Tokenizer vocabulary: A C G T N PAD BOS EOS.
  config.model.d_model = 256  # D: residual width; token embedding D/2, sin and cos blocks D/4 each.
  config.model.num_layers = 3  # s: layers of (attention, FFN).
  config.model.num_heads = 4  # H: heads; head size d = D / H.
  config.model.d_ff = 1024  # FFN hidden width (reference: 4 D).
  config.model.attention = "linear"  # "linear" (SLiM Performer) or "softmax" (causal baseline).
  config.model.feature_map = "sqr"  # phi for linear attention: relu, elu+1, sqr (paper default), favor+, hedgehog.
  # favor+: M = blocks * d orthogonal random features; hedgehog: the learned projection's width is blocks * d, so
  # the state has 2 * blocks * d features per head (more state for the same q and k); other maps: unused.
  config.model.num_feature_blocks = 1
  config.model.on_gptln = True  # True: post-LN x + LN(f(x)) (reference PTB/enwik8); False: pre-LN.
  # Additions to the reference model (docs/model.md; all off by default, which is the faithful model):
  config.model.conv_width = 0  # K: depthwise causal convolution of width K on q, k and v in every layer (0 = off).
  config.model.window_heads = 0  # Heads per layer that run exact causal softmax over the last window_size positions.
  config.model.window_size = 0  # w: the window of those heads (positions, the current one included).
  # hedgehog only: each feature is (1 - f) softmax + f / d', so no feature is ever far below the others.
  # Without it (f = 0, the published map) a feature can fall to ~1e-9 of the largest, and the sub-linear
  # step's rebuilt states lose it to cancellation (README, "Hedgehog and the rebuilt states").
  config.model.hedgehog_floor = 0.0
  config.model.positions = "sinusoid"  # "sinusoid" (reference: absolute sin/cos block) or "none" (embedding only).
  # docs/model.md: m > 0 adds to each position's embedding the base that followed the previous occurrence of
  # its last m bases in the sequence (model/match.py), so that the model can copy repeats (0 = off).
  config.model.match_order = 0
  # p > 0 gives each position's input a [sin | cos] pair of its phase 2 pi (t mod p) / p, taken from the token
  # embedding's width: with p = 3 the codon frame, which no sinusoid of the reference has (its shortest period
  # is 2 pi bases), so that attention can keep the three frames of a gene apart (0 = off).
  config.model.phase_period = 0
  # Needs phase_period and linear attention: each linear head keeps one state per phase of the key
  # (t mod phase_period), P times the state, and a query reads them weighted by a learned positive weight per
  # relative phase (query's minus key's), per head and layer: a factor of attention's weight that a softmax
  # head's q.k can make from the phase pair, but a sum of positive features cannot (1 at init: the unsplit model).
  config.model.phase_split_state = False

  config.train = ml_collections.ConfigDict()
  config.train.batch_size = 8  # Global batch (windows per step), split across all devices.
  config.train.num_steps = 1000  # Optimizer steps in the whole run.
  config.train.chunk_size = 256  # C: when < window_length, sub-linear memory training over chunks of C.
  config.train.learning_rate = 1e-3  # Peak AdamW learning rate.
  config.train.warmup_steps = 100  # Linear warmup steps, then cosine decay to 10% of the peak.
  config.train.weight_decay = 0.0  # AdamW decoupled weight decay (reference: plain Adam).
  config.train.grad_clip_norm = 1.0  # Clip the global gradient norm to this value (0 = off).
  config.train.log_every = 50  # Steps between progress lines and metric writes.
  config.train.eval_every = 500  # Steps between held-out evaluations (the last step always evaluates).
  config.train.checkpoint_every = 200  # Steps between checkpoints (the last step and SIGTERM always save).
  config.train.max_to_keep = 3  # Checkpoints kept in <workdir>/checkpoints.
  # Float32 matmul precision of the training step and its evaluations (jax.default_matmul_precision):
  # "highest" = true float32 products; "high" = 3 bfloat16 passes on TPU, TF32 on NVIDIA GPUs; "default" =
  # the backend's fastest (1 bfloat16 pass on TPU, TF32 on GPU). CPUs compute float32 under all three.
  # "highest" by default: under TF32 the sub-linear gradients differ from autodiff's by up to 1.2% on an
  # H200, and a silent loss of the exactness this trainer promises is worse than a visible loss of speed.
  config.train.matmul_precision = "highest"
  # The training step's activations: "float32", or "bfloat16" (GPU/TPU) with float32 parameters, optimizer state,
  # gradient sums and carried (S, z) states, so the sub-linear step's subtraction stays in float32 (docs/speed.md).
  config.train.compute_dtype = "float32"

  config.eval = ml_collections.ConfigDict()
  config.eval.max_bases = 65536  # Held-out bases scored per record and split (0 = the whole region).
  config.eval.chunk_size = 1024  # Chunk of the recurrence inside each evaluation window (at most the context).
  config.eval.context = 0  # W: held-out bases are scored in half-overlapping windows of W (0 = data.window_length).
  return config


def parent_config(config_file: str, parent: str, *args) -> ml_collections.ConfigDict:
  """`get_config(*args)` of the config file `parent` in config_file's folder, unlocked for the child to change.

  Config files are loaded by path (ml_collections' --config=FILE), not imported as a package, so a config
  built on another reaches it through its own `__file__`.
  """
  path = os.path.join(os.path.dirname(os.path.abspath(config_file)), parent)
  spec = importlib.util.spec_from_file_location(os.path.splitext(parent)[0], path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config(*args)
  config.unlock()
  return config


_MODEL_DEFAULTS = base_config().model
# Options that no release used and the ablation rejected, removed from the model: sections written before
# (bundled exports, old checkpoints) hold them at the value that turned them off, which is all they may hold.
RETIRED_MODEL_FIELDS = {"qk_head_dim": 0, "recency_slots": 0, "recency_block": 0}


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """The model section as the model reads it: every field present, typed, frozen and hashable (so a model is
  a static argument of jax.jit). Fields and defaults are base_config's (documented there); model sections
  written before a field existed (bundled exports, old checkpoints) read it at that default."""

  vocab_size: int = _MODEL_DEFAULTS.vocab_size
  d_model: int = _MODEL_DEFAULTS.d_model
  num_layers: int = _MODEL_DEFAULTS.num_layers
  num_heads: int = _MODEL_DEFAULTS.num_heads
  d_ff: int = _MODEL_DEFAULTS.d_ff
  attention: str = _MODEL_DEFAULTS.attention
  feature_map: str = _MODEL_DEFAULTS.feature_map
  num_feature_blocks: int = _MODEL_DEFAULTS.num_feature_blocks
  on_gptln: bool = _MODEL_DEFAULTS.on_gptln
  conv_width: int = _MODEL_DEFAULTS.conv_width
  window_heads: int = _MODEL_DEFAULTS.window_heads
  window_size: int = _MODEL_DEFAULTS.window_size
  hedgehog_floor: float = _MODEL_DEFAULTS.hedgehog_floor
  positions: str = _MODEL_DEFAULTS.positions
  match_order: int = _MODEL_DEFAULTS.match_order
  phase_period: int = _MODEL_DEFAULTS.phase_period
  phase_split_state: bool = _MODEL_DEFAULTS.phase_split_state

  @classmethod
  def of(cls, section) -> ModelConfig:
    """A ModelConfig from a model section (ConfigDict, FrozenConfigDict, dict or ModelConfig)."""
    if isinstance(section, cls):
      return section
    values = dict(section.items())
    for field, neutral in RETIRED_MODEL_FIELDS.items():
      if field in values and values.pop(field) != neutral:
        raise ConfigError(
          f"config.model.{field}: this option was removed (the ablation found it level or worse; "
          f"docs/experiments/ablation.md); only {neutral!r} (off) is read."
        )
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
      raise ConfigError(f"config.model.{unknown[0]}: not a model field (genome_transformer/config_lib.py lists them).")
    return cls(**values)

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)


def token_embedding_width(model_config: ModelConfig) -> int:
  """The token embedding's share of D: what the sinusoid block (D/2) and the phase pair (2) leave."""
  sinusoid = model_config.positions == "sinusoid"
  phase = 2 if model_config.phase_period else 0
  return (model_config.d_model // 2 if sinusoid else model_config.d_model) - phase


def _fail(field: str, value, why: str):
  raise ConfigError(f"config.{field}={value!r}: {why}")


def validate(config: ml_collections.ConfigDict, *, device_count: int = 1, process_count: int = 1) -> None:
  """Raises ConfigError naming the first field that cannot work."""
  m, d, t, e = ModelConfig.of(config.model), config.data, config.train, config.eval
  init_from = config.get("init_from", "")
  if not isinstance(init_from, str) or init_from != init_from.strip():
    _fail("init_from", init_from, '"" (from scratch), an export directory or a release name, without spaces around')
  for field in ("d_model", "num_layers", "num_heads", "d_ff", "num_feature_blocks", "vocab_size"):
    if int(getattr(m, field)) < 1:
      _fail(f"model.{field}", getattr(m, field), "must be a positive integer")
  if m.d_model % m.num_heads:
    _fail("model.d_model", m.d_model, f"must be divisible by model.num_heads={m.num_heads} (head size d = D/H)")
  if m.d_model % 4:
    _fail("model.d_model", m.d_model, "must be divisible by 4 (embedding D/2 plus sin and cos blocks of D/4)")
  if m.attention not in ATTENTIONS:
    _fail("model.attention", m.attention, f"must be one of {ATTENTIONS}")
  if m.feature_map not in FEATURE_MAPS:
    _fail("model.feature_map", m.feature_map, f"must be one of {FEATURE_MAPS}")
  for field in ("conv_width", "window_heads", "window_size"):
    if int(getattr(m, field)) < 0:
      _fail(f"model.{field}", getattr(m, field), "must be >= 0 (0 turns it off)")
  if not 0.0 <= m.hedgehog_floor < 1.0:
    _fail("model.hedgehog_floor", m.hedgehog_floor, "must lie in [0, 1) (0 is the published Hedgehog map)")
  if m.hedgehog_floor and m.feature_map != "hedgehog":
    _fail(
      "model.hedgehog_floor", m.hedgehog_floor, f"is for feature_map='hedgehog' (now {m.feature_map!r}); set it to 0"
    )
  if not 0 <= m.match_order <= MAX_MATCH_ORDER:
    _fail("model.match_order", m.match_order, f"must lie in [0, {MAX_MATCH_ORDER}] (0 turns it off)")
  period = int(m.phase_period)
  if period < 0 or period == 1:
    _fail("model.phase_period", period, "must be 0 (off) or a period of at least 2 bases (3: the codon frame)")
  if token_embedding_width(m) < 1:
    _fail("model.phase_period", period, f"leaves no token embedding at model.d_model={m.d_model}: widen the model")
  if m.phase_split_state and not period:
    _fail("model.phase_split_state", True, "splits the state by model.phase_period: set the period (3: codons)")
  if m.positions not in POSITIONS:
    _fail("model.positions", m.positions, f"must be one of {POSITIONS}")
  if m.window_heads > m.num_heads:
    _fail("model.window_heads", m.window_heads, f"must be at most model.num_heads={m.num_heads}")
  if bool(m.window_heads) != bool(m.window_size):
    _fail(
      "model.window_size",
      m.window_size,
      f"set both model.window_heads (now {m.window_heads}) and model.window_size, or neither",
    )
  if m.attention == "softmax":
    if m.window_heads:
      _fail("model.window_heads", m.window_heads, "is for linear attention; softmax attention sees every position")
    if m.feature_map == "hedgehog":
      _fail("model.feature_map", m.feature_map, "is a linear-attention feature map; use sqr (unused) with softmax")
    if m.phase_split_state:
      _fail("model.phase_split_state", True, "is for linear attention; softmax weighs phases through q.k already")
  from genome_transformer.genomics import tokenizer  # Deferred: keeps config files importable alone.

  if m.vocab_size != tokenizer.VOCAB_SIZE:
    _fail("model.vocab_size", m.vocab_size, f"must equal the tokenizer's vocabulary size {tokenizer.VOCAB_SIZE}")
  if not str(d.genome).strip():
    _fail("data.genome", d.genome, "name a corpus, e.g. builtin:bacteria4 or /path/genome.fa")
  if d.window_length < 2:
    _fail("data.window_length", d.window_length, "must be at least 2 (one input and one target)")
  if d.stride < 1:
    _fail("data.stride", d.stride, "must be a positive number of bases")
  if not 0.0 <= d.max_n_fraction <= 1.0:
    _fail("data.max_n_fraction", d.max_n_fraction, "must lie in [0, 1]")
  if not 0.0 <= d.reverse_complement_prob <= 1.0:
    _fail("data.reverse_complement_prob", d.reverse_complement_prob, "must lie in [0, 1]")
  if not 1 <= t.chunk_size <= d.window_length:
    _fail("train.chunk_size", t.chunk_size, f"must lie in [1, data.window_length={d.window_length}]")
  if m.attention == "softmax" and t.chunk_size != d.window_length:
    _fail(
      "train.chunk_size",
      t.chunk_size,
      f"softmax attention has no chunked training: set it to data.window_length={d.window_length}",
    )
  if t.batch_size < 1 or t.batch_size % device_count:
    _fail("train.batch_size", t.batch_size, f"must be a positive multiple of the device count {device_count}")
  if t.batch_size % process_count:
    _fail("train.batch_size", t.batch_size, f"must be divisible by the process count {process_count}")
  if t.num_steps < 1:
    _fail("train.num_steps", t.num_steps, "must be at least 1")
  if not t.learning_rate > 0:
    _fail("train.learning_rate", t.learning_rate, "must be positive")
  if not 0 <= t.warmup_steps < t.num_steps:  # optax's cosine decay needs at least one step after warmup.
    _fail("train.warmup_steps", t.warmup_steps, f"must lie in [0, train.num_steps={t.num_steps})")
  if t.weight_decay < 0:
    _fail("train.weight_decay", t.weight_decay, "must be >= 0")
  if t.grad_clip_norm < 0:
    _fail("train.grad_clip_norm", t.grad_clip_norm, "must be >= 0 (0 turns clipping off)")
  for field in ("log_every", "eval_every", "checkpoint_every", "max_to_keep"):
    if t[field] < 1:
      _fail(f"train.{field}", t[field], "must be at least 1")
  if t.matmul_precision not in MATMUL_PRECISIONS:
    _fail(
      "train.matmul_precision",
      t.matmul_precision,
      f"must be one of {MATMUL_PRECISIONS} (README, Training: when to choose which)",
    )
  if t.compute_dtype not in COMPUTE_DTYPES:
    _fail("train.compute_dtype", t.compute_dtype, f"must be one of {COMPUTE_DTYPES} (bfloat16 is for GPUs and TPUs)")
  if e.max_bases < 0:
    _fail("eval.max_bases", e.max_bases, "must be >= 0 (0 scores the whole held-out region)")
  if e.chunk_size < 1:
    _fail("eval.chunk_size", e.chunk_size, "must be at least 1")
  if e.context != 0 and e.context < 2:
    _fail("eval.context", e.context, "must be 0 (data.window_length) or at least 2 (one input and one target)")


# Fields that fix the parameters' shapes or the data a run sees: a checkpoint made under other values
# cannot continue under these (the train.* schedule may change, e.g. to extend a run).
RESUME_INVARIANT_PREFIXES = (
  "model.",
  "data.genome",
  "data.window_length",
  "data.stride",
  "data.max_n_fraction",
  "seed",
)


def flatten(config_dict: dict, prefix: str = "") -> dict:
  flat = {}
  for key, value in config_dict.items():
    if isinstance(value, dict):
      flat.update(flatten(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


def resume_mismatches(saved: dict, current: dict) -> list[str]:
  """Lines naming each resume-invariant field whose value differs between two config dicts."""
  saved_flat, current_flat = flatten(saved), flatten(current)
  # A checkpoint from before a field existed was made under that field's default.
  defaults = flatten(base_config().to_dict())
  saved_flat = {**{f: v for f, v in defaults.items() if f in current_flat}, **saved_flat}
  for field, neutral in RETIRED_MODEL_FIELDS.items():  # Removed options, saved while they were off.
    if saved_flat.get(f"model.{field}") == neutral:
      del saved_flat[f"model.{field}"]
  lines = []
  for field in sorted(set(saved_flat) | set(current_flat)):
    if not field.startswith(RESUME_INVARIANT_PREFIXES):
      continue
    if saved_flat.get(field) != current_flat.get(field):
      lines.append(
        f"config.{field}: checkpoint has {saved_flat.get(field)!r}, this config has {current_flat.get(field)!r}"
      )
  return lines
