"""The transfer planner's rules, as properties over arbitrary pairs of histories."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from mreg.names import natural_key
from mreg.remotes.plan import Diverged, ModelSide, SpecConflict, VersionConflict, plan_blobs, plan_model

events = st.lists(st.sampled_from("abcdef"), max_size=6).map(tuple)
versions = st.dictionaries(st.sampled_from(["v1", "v2", "v3", "v4"]), st.sampled_from(["m1", "m2"]), max_size=4)


def side(chain: tuple[str, ...], manifests: dict[str, str], spec: str = "s") -> ModelSide:
    return ModelSide(spec=spec, manifests=manifests, events=chain, moves=tuple(frozenset() for _ in chain))


def applied(source: ModelSide, destination: ModelSide | None, plan) -> ModelSide:
    """The destination after the plan's copies, as the executor performs them."""
    there = destination or ModelSide("", {}, ())
    manifests = {**there.manifests, **{v: source.manifests[v] for v in plan.versions}}
    chain = there.events + tuple(source.events[seq - 1] for seq in plan.events)
    spec = source.spec if plan.create_spec or plan.replace_spec else there.spec
    return ModelSide(spec, manifests, chain)


@given(base=events, mine=events, theirs=events, local=versions, remote=versions)
def test_a_plan_is_fast_forward_or_a_refusal_naming_the_first_difference(base, mine, theirs, local, remote):
    source, destination = side(base + mine, local), side(base + theirs, remote)
    chains = source.events, destination.events
    first_difference = next((i for i, (a, b) in enumerate(zip(*chains)) if a != b), None)
    conflicting = sorted(v for v in local if v in remote and local[v] != remote[v])
    try:
        plan = plan_model("M", source, destination)
    except VersionConflict as refusal:
        assert refusal.version == min(conflicting, key=natural_key) and refusal.exit_code == 4
        return
    except Diverged as refusal:
        assert not conflicting and first_difference is not None and refusal.seq == first_difference + 1
        assert "diverged at event" in refusal.message and "nothing was changed" in refusal.message
        return
    assert not conflicting and first_difference is None
    after = applied(source, destination, plan)
    longer = max(chains, key=len)
    assert after.events == longer  # fast-forward, or the destination was ahead and kept its events
    assert plan.behind == (len(destination.events) > len(source.events))
    assert {**remote, **local} == dict(after.manifests)


@given(chain=events, local=versions, remote=versions)
def test_a_finished_transfer_plans_nothing_more(chain, local, remote):
    remote = {v: d for v, d in remote.items() if local.get(v, d) == d}
    source, destination = side(chain, local), side((), remote)
    after = applied(source, destination, plan_model("M", source, destination))
    again = plan_model("M", source, after)
    assert not again.changes_anything and again.present_versions == len(local)


@given(chain=events, local=versions)
def test_an_absent_model_is_created_with_everything(chain, local):
    source = side(chain, local)
    plan = plan_model("M", source, None)
    assert plan.create_spec and set(plan.versions) == set(local) and plan.events == tuple(range(1, len(chain) + 1))


def test_an_event_naming_a_version_left_behind_stops_the_chain():
    source = ModelSide("s", {"v1": "a", "v2": "b"}, ("e1", "e2", "e3"),
                       (frozenset({"v1"}), frozenset({"v2"}), frozenset({"v1"})))
    plan = plan_model("M", source, None, versions=["v1"])
    assert plan.versions == ("v1",) and plan.events == (1,) and not plan.replace_spec


def test_model_yaml_follows_a_fast_forward_and_is_a_conflict_without_one():
    old = ModelSide("s1", {}, ("e1",), specs=("s1",))
    new = ModelSide("s2", {}, ("e1", "e2"), (frozenset(), frozenset()), ("s1", "s2"))  # e2: model update
    assert plan_model("M", new, old).replace_spec
    assert not plan_model("M", old, new).replace_spec  # the destination is ahead: its model.yaml is newer
    with pytest.raises(SpecConflict):
        plan_model("M", ModelSide("s2", {}, ("e1",)), old)


def test_a_partial_copy_never_stops_between_two_model_events():
    """Only the source's current model.yaml can be written, so a copy that cannot reach the
    newest model event (e3 names a version left behind) stops before the first one it holds."""
    source = ModelSide("s3", {"v1": "m1"}, ("e1", "e2", "e3", "e4"),
                       (frozenset(), frozenset(), frozenset({"v9"}), frozenset()), ("s1", "s2", None, "s3"))
    assert plan_model("M", source, None, ["v1"]).events == ()
    assert plan_model("M", source, ModelSide("s1", {}, ("e1",), specs=("s1",)), ["v1"]).events == ()
    whole = ModelSide("s3", {"v1": "m1", "v9": "m9"}, source.events, source.moves, source.specs)
    assert plan_model("M", whole, ModelSide("s1", {}, ("e1",), specs=("s1",))).events == (2, 3, 4)


@given(needed=st.sets(st.sampled_from("abcdefgh")), present=st.sets(st.sampled_from("abcdefgh")))
def test_blobs_the_destination_holds_are_never_sent(needed, present):
    missing, there = plan_blobs(needed, present)
    assert set(missing) == needed - present and there == len(needed & present) and list(missing) == sorted(missing)
