"""The name grammar: checked before anything touches the store."""

import pytest
from hypothesis import given, strategies as st

from mreg.errors import InvalidName
from mreg.names import NAME_PATTERN, check_name, parse_ref


@pytest.mark.parametrize("name", ["MDL-REC", "v12.4", "a", "x_1", "A" * 128, "1.0-rc_2"])
def test_valid_names(name):
    assert check_name("version", name) == name


@pytest.mark.parametrize("name", ["", ".hidden", "-flag", "a/b", "a\\b", "v1..2", "..", "a b", "é", "A" * 129, "a@b", "a\n"])
def test_invalid_names_are_refused_with_the_grammar(name):
    with pytest.raises(InvalidName, match="letters, digits"):
        check_name("version", name)


@given(st.text(max_size=200))
def test_an_accepted_name_is_always_a_safe_path_segment(name):
    try:
        check_name("model id", name)
    except InvalidName:
        return
    assert "/" not in name and "\\" not in name and ".." not in name and not name.startswith(".")
    assert NAME_PATTERN.fullmatch(name)


def test_refs():
    assert parse_ref("MDL-REC@v12.4") == ("MDL-REC", "v12.4")
    assert parse_ref("MDL-REC", version_required=False) == ("MDL-REC", None)
    with pytest.raises(InvalidName, match="MODEL@VERSION"):
        parse_ref("MDL-REC")


def test_closest_prefers_another_case_then_the_nearest_spelling():
    from mreg.names import closest

    assert closest("churn", ["CHURN", "CHURNER"]) == "CHURN"
    assert closest("MDL-RCE", ["MDL-REC", "MDL-EXP"]) == "MDL-REC"
    assert closest("zzz", ["MDL-REC"]) is None


def test_a_colon_for_the_at_is_named():
    with pytest.raises(InvalidName, match="did you mean CHURN@v4"):
        parse_ref("CHURN:v4", version_required=False)
