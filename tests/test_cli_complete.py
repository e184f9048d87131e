"""Shell completion: the committed scripts are current, they complete from live data, and
they work in real interactive shells (bash, zsh, fish driven through tmux)."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from conftest import EXAMPLE, REPO
from mreg.cli.complete import _shell_words

pytestmark = pytest.mark.local_only


def test_committed_completion_scripts_are_current():
    generator = runpy.run_path(str(REPO / "scripts" / "completions"))
    for shell, name in generator["FILES"].items():
        assert (REPO / "completions" / name).read_text() == generator["script"](shell), name


def complete(words: str, registry: Path = EXAMPLE) -> list[str]:
    """What mreg's completion program offers for the last word of ``words``."""
    parts = words.split(" ")
    env = {**os.environ, "_MREG_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1),
           "MREG_REGISTRY": str(registry)}
    done = subprocess.run([sys.executable, "-m", "mreg"], env=env, capture_output=True, text=True, timeout=60)
    return done.stdout.split()


@pytest.fixture
def staged(tmp_path) -> Path:
    """M@v1 in development, v2 in experimentation, v3 a candidate, v4 on the canary."""
    import mreg
    from mreg.manifest import ModelSpec

    registry = mreg.init(str(tmp_path / "staged"))
    registry.add_model(ModelSpec(id="M", name="m"))
    for version, path in (("v1", ()), ("v2", ("experimentation",)), ("v3", ("experimentation", "candidate")),
                          ("v4", ("experimentation", "candidate", "canary"))):
        registry.register(f"M@{version}")
        for state in path:
            registry.promote(f"M@{version}", state)
    return tmp_path / "staged"


def test_promote_offers_only_the_states_the_version_can_reach_from_where_it_is(staged):
    assert complete("mreg promote M@v1 --to ", staged) == ["experimentation"]
    assert complete("mreg promote M@v2 --to ", staged) == ["candidate"]
    assert complete("mreg promote M@v3 --reason ok --to ", staged) == ["canary"]
    assert complete("mreg promote M@v4 --to ", staged) == ["production"]
    assert complete("mreg promote M@v4 --to c", staged) == []
    assert complete("mreg promote MDL-REC@v12.4 --to ") == []  # production moves on by monitor, deprecate, rollback


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1), max_size=6))
def test_the_words_of_a_typed_line_are_the_words_the_shell_quoted(words):
    import shlex

    line = shlex.join(words)
    assert _shell_words(line) == words
    assert _shell_words(line + " '" + "half") == [*words, "half"]  # an open quote: the word being typed


def test_states_complete_from_the_transition_table_when_no_version_is_named():
    assert complete("mreg promote --to ca") == ["candidate", "canary"]
    assert complete("mreg promote NOPE@v1 --to ca") == ["candidate", "canary"]


def test_models_and_versions_complete_from_the_registry():
    assert complete("mreg show MDL-R") == ["MDL-REC@"]
    assert complete("mreg promote MDL-REC@v1") == ["MDL-REC@v10.0", "MDL-REC@v11.0", "MDL-REC@v12.0", "MDL-REC@v12.4"]
    assert complete("mreg status MDL-") == ["MDL-EXP", "MDL-PERS", "MDL-QUAL", "MDL-REC", "MDL-SEARCH"]


def test_commands_complete():
    assert {"promote", "pull", "register", "reindex", "rollback"} <= set(complete("mreg r") + complete("mreg p"))


# --- real shells ------------------------------------------------------------------------

SHELLS = {
    # shell: (command line, how to load the committed script, keys that list candidates)
    "bash": (["bash", "--norc", "--noprofile", "-i"],
             f"PS1='$ '; source {REPO}/completions/mreg.bash; bind 'set show-all-if-ambiguous on'", ["Tab"]),
    "zsh": (["zsh", "-f", "-i"],
            f"PS1='$ '; autoload -U compinit; compinit -u; source {REPO}/completions/_mreg", ["Tab", "Tab"]),
    "fish": (["fish", "--no-config", "-i"],
             f"function fish_prompt; echo '$ '; end; source {REPO}/completions/mreg.fish", ["Tab"]),
}


class Terminal:
    """An interactive shell in a private tmux server, typed into and read off the screen."""

    def __init__(self, shell: str, home: Path) -> None:
        self.shell = shell
        command, setup, self.list_keys = SHELLS[shell]
        bin_dir = home / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "mreg").write_text(f'#!/bin/sh\nexec {sys.executable} -m mreg "$@"\n')
        (bin_dir / "mreg").chmod(0o755)
        env = {"HOME": str(home), "TERM": "xterm", "PATH": f"{bin_dir}:{os.environ['PATH']}",
               "PYTHONPATH": os.environ.get("PYTHONPATH", ""), "MREG_REGISTRY": str(EXAMPLE), "LANG": "C.UTF-8"}
        self.socket = str(home / "tmux.sock")
        self.tmux("new-session", "-d", "-x", "200", "-y", "50", "-c", str(home),
                  "env", "-i", *(f"{key}={value}" for key, value in env.items()), *command)
        self.type(setup, "Enter")
        self.wait_for("$ ")

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.socket, *args], check=True, capture_output=True, text=True,
                              timeout=30).stdout

    def type(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def wait_for(self, *texts: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts} never appeared on screen:\n{screen}")
            time.sleep(0.2)

    def complete(self, line: str, *expected: str) -> str:
        """Type ``line`` on a fresh prompt, press Tab, and wait for ``expected`` on screen."""
        self.type("C-u", "C-l")
        time.sleep(0.3)
        self.type(line)
        for key in self.list_keys:
            time.sleep(0.2)
            self.type(key)
        return self.wait_for(*expected)

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=30)


@pytest.fixture
def terminal(request, tmp_path):
    shell = request.param
    if shutil.which(shell) is None or shutil.which("tmux") is None:
        if shell == "bash":
            pytest.fail("tmux and bash are needed (scripts/test installs tmux)")
        pytest.skip(f"{shell} is not installed (scripts/test installs it on Debian)")
    opened = Terminal(shell, tmp_path / shell)
    yield opened
    opened.close()


@pytest.mark.parametrize("terminal", ["bash", "zsh", "fish"], indirect=True)
def test_an_interactive_shell_completes_commands_models_versions_and_states(terminal, staged):
    terminal.complete("mreg pro", "mreg promote")
    models = terminal.complete("mreg promote MDL-", "MDL-EXP@", "MDL-PERS@", "MDL-QUAL@", "MDL-REC@", "MDL-SEARCH@")
    assert "MDL-REC@v" not in models
    versions = terminal.complete("mreg promote MDL-REC@", "v10.0", "v11.0", "v12.0", "v12.4")
    assert "MDL-EXP" not in versions.split("\n", 1)[1]
    terminal.type("C-u", f"export MREG_REGISTRY={staged}" if terminal.shell != "fish" else f"set -x MREG_REGISTRY {staged}",
                  "Enter")
    # the one state promote can take M@v3 to is inserted into the line: no list, no other state
    assert "--to canary" in terminal.complete("mreg promote M@v3 --to ", "mreg promote M@v3 --to canary")
    screen = terminal.complete("mreg promote M@v2 --to ", "mreg promote M@v2 --to candidate")
    assert "experimentation" not in screen and "production" not in screen


@pytest.mark.parametrize("terminal", ["bash"], indirect=True)
def test_bash_completes_a_version_in_place_after_the_at(terminal):
    """The unique completion is inserted into the line, '@' and all, not appended as a new word."""
    terminal.complete("mreg show MDL-R", "$ mreg show MDL-REC@")
    terminal.type("v11")
    terminal.type("Tab")
    screen = terminal.wait_for("mreg show MDL-REC@v11.0")
    assert "MDL-RECv11" not in screen and "@@" not in screen
