"""One canonical serializer: dump -> load -> dump is byte-identical, whatever the content."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings, strategies as st

from mreg.codec import _FastWriter, _dates_as_text, _ruamel_dump, dump_json, dump_yaml, load_yaml
from mreg.errors import InvalidManifest
from mreg.manifest import Dataset, ModelSpec, VersionManifest

from conftest import EXAMPLE

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,15}", fullmatch=True)
finite = st.floats(allow_nan=False, allow_infinity=False)

manifests = st.builds(
    VersionManifest,
    model=names, version=names,
    training_period=st.none() | text, key_change=st.none() | text, notes=st.none() | text,
    parents=st.lists(names, max_size=3, unique=True),
    datasets=st.lists(st.builds(Dataset, name=names, source=st.none() | text, snapshot=st.none() | text),
                      max_size=3, unique_by=lambda d: d.name),
    metrics=st.dictionaries(names, finite, max_size=5),
    parameters=st.dictionaries(names, st.none() | st.booleans() | st.integers() | finite | text, max_size=5),
)


tricky_text = st.text(st.sampled_from(list("abcAB0129 :#'\"\\-?[]{},&*!|>%@`~.+_/=é\t\n\u2028")), min_size=1, max_size=12)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | text | tricky_text | st.sampled_from(
    ["yes", "no", "null", "~", "true", "1.5", "0x1F", "2025-01-01", "2025-01-01T00:00:00Z", "sha256:ab", ".inf", "-"])
documents = st.dictionaries(
    text | tricky_text,
    st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text | tricky_text, inner, max_size=3),
                 max_leaves=12),
    min_size=1, max_size=5,
)


@settings(max_examples=400, deadline=None)
@given(documents)
def test_the_direct_writer_gives_ruamels_bytes(data):
    """dump_yaml's fast layout is an optimisation only: it must equal ruamel's emitter."""
    assert dump_yaml(data) == _ruamel_dump(data)


def test_the_documents_mreg_writes_take_the_direct_path():
    for path in EXAMPLE.rglob("*.yaml"):
        data = load_yaml(path.read_bytes(), str(path))
        assert _FastWriter().document(data).encode() == path.read_bytes(), path


@settings(max_examples=150, deadline=None)
@given(manifests)
def test_manifest_yaml_round_trips_byte_for_byte(manifest):
    first = manifest.to_yaml()
    loaded = VersionManifest.from_yaml(first, "test")
    assert loaded == manifest
    assert loaded.to_yaml() == first


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(names, st.recursive(st.none() | st.booleans() | st.integers() | finite | text,
                                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
                                           max_leaves=10), max_size=5))
def test_plain_yaml_round_trips(data):
    assert load_yaml(dump_yaml(data), "test") == data
    assert dump_yaml(load_yaml(dump_yaml(data), "test")) == dump_yaml(data)


def test_free_form_mappings_are_sorted_so_input_order_does_not_matter():
    a = VersionManifest(model="M", version="v1", metrics={"b": 1.0, "a": 2.0}, parameters={"z": 1, "y": 2})
    b = VersionManifest(model="M", version="v1", metrics={"a": 2.0, "b": 1.0}, parameters={"y": 2, "z": 1})
    assert a.to_yaml() == b.to_yaml()


def test_every_example_document_is_in_canonical_form():
    for path in sorted((EXAMPLE / "models").rglob("*.yaml")):
        kind = ModelSpec if path.name == "model.yaml" else VersionManifest if path.parent.name == "versions" else None
        if kind is None:
            continue
        raw = path.read_bytes()
        assert kind.from_yaml(raw, str(path)).to_yaml() == raw, path


def test_json_output_is_canonical_and_carries_no_nan():
    text_out = dump_json({"b": math.nan, "a": [math.inf, 1.5], "é": "ü"})
    assert text_out == '{\n  "a": [\n    null,\n    1.5\n  ],\n  "b": null,\n  "é": "ü"\n}\n'
    assert json.loads(text_out)["b"] is None


@pytest.mark.parametrize("document", ["!!python/object/apply:os.system ['true']", "a: !!python/name:os.system"])
def test_yaml_is_loaded_in_safe_mode_only(document):
    with pytest.raises(InvalidManifest):
        load_yaml(document, "evil.yaml")


PLAIN_SCALARS = ["yes", "no", "on", "off", "0o17", "017", "0x1F", "1_000", "1e3", ".nan", "-.inf", "~", "Null", "TRUE",
                 "2025-01-01", "12:30:45", "1:20", "<<", "=", "sha256:ab"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PLAIN_SCALARS) | tricky_text, min_size=1, max_size=8))
def test_the_fixed_yaml_1_2_resolver_reads_plain_scalars_as_ruamels_own_does(values):
    """codec's loaders name YAML 1.2 once instead of asking per scalar; what they read must
    not change: the same values as ruamel's stock safe loader on the same (C) parser, for plain
    and quoted text (the two parsers differ elsewhere, e.g. on a bare '!' tag)."""
    from ruamel.yaml import YAML

    stock = YAML(typ="safe")
    text = "".join(f"k{index}: {value}\n" for index, value in enumerate(values) if "\n" not in value and value.strip() == value)
    try:
        expected = stock.load(text)
    except Exception:  # not a valid document in the first place: nothing to compare
        return
    assert load_yaml(text.encode(), "test") == _dates_as_text(expected)
