"""Property-based tests (hypothesis): the list-file parser, the ``--set`` option parser and the channel
factorisation, on generated inputs."""

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ctnet_lib.data import ListFileError, read_list_file
from ctnet_lib.ops.factorisation import FactorisationError, factorise
from ctnet_lib.options import parse_kernels, parse_set_options

# examples, deadline and randomness come from the profile loaded in conftest.py
PROFILE = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

# a path: words that start with a letter (never a bare integer), joined by '/' or a space
WORD = st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,8}", fullmatch=True)
PATH = st.lists(st.tuples(WORD, st.sampled_from(["/", " "])), min_size=1, max_size=4).map(
    lambda parts: "".join(word + sep for word, sep in parts)[:-1])
RECORD = st.tuples(PATH, st.integers(1, 10**6), st.integers(0, 999))  # path, frames, label
RECORDS = st.lists(RECORD, min_size=1, max_size=12, unique_by=lambda record: Path(record[0]))


def write(tmp_path: Path, lines: list[str], newline: str, bom: bool) -> Path:
    path = tmp_path / "list.txt"
    path.write_bytes((("\ufeff" if bom else "") + newline.join(lines) + newline).encode("utf-8"))
    return path


@PROFILE
@given(records=RECORDS, frames=st.booleans(), newline=st.sampled_from(["\n", "\r\n"]), bom=st.booleans(),
       comments=st.lists(st.integers(0, 12), max_size=3))
def test_a_written_list_file_reads_back(tmp_path, records, frames, newline, bom, comments):
    lines = [f"{path} {count} {label}" if frames else f"{path} {label}" for path, count, label in records]
    for position in comments:
        lines.insert(min(position, len(lines)), "# a comment" if position % 2 else "   ")
    parsed = read_list_file(write(tmp_path, lines, newline, bom), root="/data")
    assert [(r.path, r.num_frames, r.label) for r in parsed] == [
        (Path("/data") / path, count if frames else None, label) for path, count, label in records]
    numbers = [int(r.where.rsplit(":", 1)[1]) for r in parsed]
    assert [lines[n - 1].split()[0] for n in numbers] == [path.split()[0] for path, _, _ in records]


@PROFILE
@given(records=RECORDS, frames=st.booleans(), position=st.integers(0, 12),
       bad=st.sampled_from(["seven", "-3", "2.5", ""]))
def test_a_bad_label_is_reported_at_its_line(tmp_path, records, frames, position, bad):
    lines = [f"{path} {count} {label}" if frames else f"{path} {label}" for path, count, label in records]
    position = min(position, len(lines))
    path, count, _ = records[0]
    lines.insert(position, f"zz{path} {count} {bad}" if frames else f"zz{path} {bad}")
    assume(bad != "" or not frames)  # '<path> <count>' without a label is a valid video line
    with pytest.raises(ListFileError, match=rf"list\.txt:{position + 1}: "):
        read_list_file(write(tmp_path, lines, "\n", False), root="/data")


@PROFILE
@given(records=RECORDS, repeat=st.integers(0, 11))
def test_a_repeated_path_is_reported_at_its_second_line(tmp_path, records, repeat):
    lines = [f"{path} {label}" for path, _, label in records]
    lines.append(lines[repeat % len(lines)])
    with pytest.raises(ListFileError, match=rf"list\.txt:{len(lines)}: .* listed again"):
        read_list_file(write(tmp_path, lines, "\n", False))


KEY = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True)
VALUE = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)


@given(pairs=st.lists(st.tuples(KEY, VALUE), max_size=6), spaces=st.sampled_from(["", " ", "  "]))
def test_set_options_parse_key_value_pairs_last_one_wins(pairs, spaces):
    parsed = parse_set_options([f"{spaces}{key}{spaces}={value}" for key, value in pairs])
    assert parsed == {key: value.strip() for key, value in pairs}


@given(text=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="="), max_size=20))
def test_set_options_without_equals_are_rejected_by_name(text):
    with pytest.raises(ValueError, match="is not key=value"):
        parse_set_options([text])


@given(kernels=st.lists(st.integers(0, 99), min_size=1, max_size=4))
def test_kernel_lists_round_trip(kernels):
    assert parse_kernels(",".join(map(str, kernels))) == tuple(kernels)
    assert parse_kernels(", ".join(map(str, kernels))) == tuple(kernels)


@given(channels=st.integers(1, 4096), sub_dims=st.integers(1, 5))
def test_a_factorisation_multiplies_to_c_or_is_refused(channels, sub_dims):
    try:
        sizes = factorise(channels, sub_dims)
    except FactorisationError as error:
        assert f"C={channels}" in str(error)
        return
    assert math.prod(sizes) == channels and len(sizes) == sub_dims
    assert list(sizes) == sorted(sizes, reverse=True) and min(sizes) >= 1


@given(channels=st.integers(1, 4096), sub_dims=st.integers(2, 4), last=st.integers(1, 4096))
def test_the_last_sub_dimension_is_kept_when_it_divides_c(channels, sub_dims, last):
    try:
        sizes = factorise(channels, sub_dims, last_sub_dim=last)
    except FactorisationError:
        return
    assert channels % last == 0 and sizes[-1] == last and math.prod(sizes) == channels


def test_a_refused_last_sub_dimension_names_the_request():
    with pytest.raises(FactorisationError, match=r"C=2\b.*last"):
        factorise(2, 3, last_sub_dim=2)


@given(channels=st.integers(1, 4096), sizes=st.lists(st.integers(-2, 64), min_size=1, max_size=4))
def test_explicit_sizes_must_multiply_to_c(channels, sizes):
    if math.prod(sizes) == channels and min(sizes) >= 1:
        assert factorise(channels, sizes=sizes) == tuple(sizes)
    else:
        with pytest.raises(FactorisationError, match=f"C={channels}"):
            factorise(channels, sizes=sizes)
