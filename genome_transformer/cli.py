# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The one convention of every command line here (the `genome-transformer` dispatcher is __main__.py).

Each command's file defines its absl flags, a `Command` (usage, one-line summary, the flags it reads,
examples) and `run(argv=None, prog="python -m genome_transformer.NAME")`, which calls
`cli.run(main, COMMAND, prog=prog, argv=argv)`; the dispatcher calls that `run` with its own program
name. `cli.run` answers `-h` / `--help` itself, from the flags the command names: absl's --help prints
the __main__ module's docstring and exits 1, and its --helpfull (which still works) lists every
imported library's flags, among which a command's own are hard to find. Usage and flag errors end
with one line naming the command.

It imports absl alone, so that every layer's command (the genome layer's fetch too) can use it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
import importlib.util
import logging
import os
import sys
import textwrap

from absl import app, flags

HELP_ARGS = ("-h", "--help", "-help", "-?", "--helpshort")
WIDTH = 100  # of the help page's prose; a flag's help stays on its one line


@dataclasses.dataclass(frozen=True)
class Command:
  """What `-h` prints: `{prog} {usage}`, the summary, each flag in `flags` on one line, the examples.

  Examples and notes may name `{prog}`, filled with the program name as it was run.
  """

  usage: str
  summary: str
  flags: Sequence[str] = ()
  examples: Sequence[str] = ()
  notes: Sequence[str] = ()
  subcommands: Sequence[tuple[str, str]] = ()  # (name, one-line summary)


def _flag_syntax(flag: flags.Flag) -> str:
  if isinstance(flag, flags.BooleanFlag):
    return f"--[no]{flag.name}"
  if isinstance(flag, flags.EnumFlag):
    return f"--{flag.name}={'|'.join(flag.parser.enum_values)}"
  kind = flag.flag_type()
  metavar = "N" if "int" in kind else "X" if "float" in kind else "VALUE"
  return f"--{flag.name}={metavar}" + (" (repeatable)" if isinstance(flag, flags.MultiFlag) else "")


def _flag_help(flag: flags.Flag) -> str:
  text = " ".join((flag.help or "").split())
  if isinstance(flag, flags.EnumFlag):  # absl's own prefix; the syntax column lists the values
    text = text.removeprefix(f"<{'|'.join(flag.parser.enum_values)}>: ")
  if isinstance(flag, flags.MultiFlag):  # absl's own suffix; the syntax column says "(repeatable)"
    text = text.removesuffix("; repeat this option to specify a list of values")
  default = flag.default
  if isinstance(flag, flags.BooleanFlag):
    text += " [default: on]" if default else ""
  elif default is not None and default != "" and default != []:
    text += f" [default: {','.join(map(str, default)) if isinstance(default, list) else default}]"
  return text


def help_text(command: Command, prog: str) -> str:
  """The help page of `command` run as `prog`; its flags must be defined by now."""
  lines = [f"usage: {prog} {command.usage}".rstrip(), "", textwrap.fill(command.summary, WIDTH)]
  if command.subcommands:
    width = max(len(name) for name, _ in command.subcommands)
    lines += ["", "commands:"] + [f"  {name:<{width}}  {summary}" for name, summary in command.subcommands]
  rows = [(_flag_syntax(flags.FLAGS[name]), _flag_help(flags.FLAGS[name])) for name in command.flags]
  if rows:
    width = min(max(len(syntax) for syntax, _ in rows), 30)
    lines += ["", "flags:"]
    for syntax, text in rows:
      # A syntax longer than the column puts its help on the next line rather than pushing every row right.
      lines += [f"  {syntax}", f"  {'':<{width}}  {text}"] if len(syntax) > width else [f"  {syntax:<{width}}  {text}"]
  if command.notes:
    lines += [""] + [textwrap.fill(note.format(prog=prog), WIDTH) for note in command.notes]
  if command.examples:
    lines += ["", "examples:"] + [f"  {example.format(prog=prog)}" for example in command.examples]
  lines += ["", "-h / --help: this page; --helpfull: every flag, the libraries' included."]
  return "\n".join(lines)


def print_help(command: Command, prog: str) -> None:
  try:
    print(help_text(command, prog), flush=True)
  except BrokenPipeError:  # `... -h | head`: the reader has what it wanted.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def wants_help(argv: Sequence[str]) -> bool:
  args = list(argv[1:])
  if "--" in args:  # absl's end of flags: what follows is data, even "-h".
    args = args[: args.index("--")]
  return any(arg in HELP_ARGS for arg in args)


class _NoTpuProbeRecord(logging.Filter):
  def filter(self, record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Unable to initialize backend 'tpu'")


def quiet_tpu_probe() -> None:
  """Drops JAX's log line about the failed TPU probe where no TPU runtime is installed.

  Without JAX_PLATFORMS, JAX tries every backend it knows, TPU included, and logs the failure of each;
  on a CPU or GPU machine that line reports nothing wrong. Where libtpu is installed (or
  TPU_LIBRARY_PATH names one) its failure is real and stays; other backends' failures always stay.
  Setting JAX_PLATFORMS instead would have to guess which of cuda, rocm and cpu the user has.
  """
  if importlib.util.find_spec("libtpu") is None and not os.environ.get("TPU_LIBRARY_PATH"):
    logger = logging.getLogger("jax._src.xla_bridge")
    if not any(isinstance(f, _NoTpuProbeRecord) for f in logger.filters):
      logger.addFilter(_NoTpuProbeRecord())


def one_line_flags_error(prog: str) -> Callable[[list[str]], list[str]]:
  """An absl flags_parser whose errors are one line naming the command and pointing at -h."""

  def parse(argv: list[str]) -> list[str]:
    try:
      return flags.FLAGS(argv)
    except flags.Error as error:
      sys.exit(f"{prog}: error: {str(error).splitlines()[0].rstrip('.')}; -h lists the flags.")

  return parse


def run(
  main: Callable[[list[str]], None],
  command: Command,
  *,
  prog: str,
  argv: Sequence[str] | None = None,
  flags_parser: Callable[[list[str]], list[str]] | None = None,
) -> None:
  """absl's app.run(main), with -h / --help answered from `command` (exit 0) and one-line usage errors."""
  argv = list(sys.argv if argv is None else argv)
  if wants_help(argv):
    print_help(command, prog)
    sys.exit(0)
  quiet_tpu_probe()

  def guarded_main(args: list[str]) -> None:
    try:
      main(args)
    except app.UsageError as error:
      # absl would print the __main__ module's docstring above the error, which is not this command's.
      sys.exit(f"{prog}: error: {str(error).rstrip('.')}; -h for help.")

  app.run(guarded_main, argv=argv, flags_parser=flags_parser or one_line_flags_error(prog))
