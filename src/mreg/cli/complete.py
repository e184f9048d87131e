"""Shell completion of what lives in the registry: model ids, ``MODEL@VERSION`` refs, and
the states ``promote`` can move a version to.

Completion must never fail loudly: with no registry in reach it offers nothing.
"""

from __future__ import annotations

import os
import shlex

import typer

from mreg.errors import MregError
from mreg.lifecycle import ModelState, State, plan_promote
from mreg.names import parse_ref


def _shell_words(line: str) -> list[str]:
    """The words of a command line being typed, as the shell will split them; an unclosed
    quote still ends the last word, since the user is in the middle of typing it."""
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split, lexer.commenters = True, ""
    words = []
    try:
        words.extend(lexer)
    except ValueError:  # "No closing quotation": keep what was typed of the open word
        words.append(lexer.token)
    return words


def _registry():
    from mreg.cli import session

    return session.registry()


def model_ids(incomplete: str) -> list[str]:
    try:
        return [model for model in _registry().model_ids() if model.startswith(incomplete)]
    except MregError:
        return []


def version_refs(incomplete: str) -> list[str]:
    """``MODEL@`` completes to that model's versions; before the ``@``, to model ids."""
    if "@" not in incomplete:
        return [f"{model}@" for model in model_ids(incomplete)]
    model, _, prefix = incomplete.partition("@")
    try:
        versions = _registry().status(model).versions
    except MregError:
        return []
    return [f"{model}@{version}" for version in versions if version.startswith(prefix)]


def promote_targets(ctx: typer.Context, incomplete: str) -> list[str]:
    """``promote MODEL@VERSION --to``: only the states the version can be promoted to from
    its current state (gates aside), as the lifecycle planner decides; every state when
    the version is not named yet or cannot be read."""
    names = [state.value for state in State if state.value.startswith(incomplete.lower())]
    try:
        model, version = parse_ref(_argument(ctx, "ref") or "")
        folded = ModelState(model, {name: State(state) for name, state in _registry().status(model).versions.items()})
    except MregError:
        return names
    return [name for name in names if _promotable(folded, version, State(name))]


def _promotable(state: ModelState, version: str, target: State) -> bool:
    try:
        plan_promote(state, version, target)
    except MregError:
        return False
    return True


def _argument(ctx: typer.Context, name: str) -> str | None:
    """An argument typed before the option being completed.

    Click parses the words before the cursor to build ``ctx``, but an option still waiting
    for its value (``--to`` with the cursor after it) fails that parse and leaves every
    parameter unset; so the words are parsed again here without that last option."""
    if ctx.params.get(name) is not None:
        return ctx.params[name]
    words = _words_before_cursor()
    if ctx.info_name not in words:
        return None
    tail = words[words.index(ctx.info_name) + 1:]
    if tail and tail[-1].startswith("-"):
        tail.pop()
    parsed = ctx.command.make_context(ctx.info_name, tail, parent=ctx.parent, resilient_parsing=True)
    return parsed.params.get(name)


def _words_before_cursor() -> list[str]:
    """The command line up to the word being completed, as each shell's script passes it:
    bash ``COMP_WORDS``/``COMP_CWORD``, zsh and fish ``_TYPER_COMPLETE_ARGS``."""
    if "_TYPER_COMPLETE_ARGS" in os.environ:
        line = os.environ["_TYPER_COMPLETE_ARGS"]
        words = _shell_words(line)
        return words if line.endswith(" ") else words[:-1]
    words = _shell_words(os.environ.get("COMP_WORDS", ""))
    return words[:int(os.environ.get("COMP_CWORD", len(words)))]
