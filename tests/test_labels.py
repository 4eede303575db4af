"""Group labels from UTKFace file names."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from colorkit.data.labels import AGE_BINS, GROUP_KEYS, age_bin, parse_groups

UTKFACE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "utkface"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("25_1_1_20170116174525125.jpg.chip.jpg", {"gender": "female", "race": "black", "age": "20-39"}),
        ("1_0_0_20161219140623097.jpg.chip.jpg", {"gender": "male", "race": "white", "age": "0-19"}),
        ("19_0_2_20170104.jpg.chip.jpg", {"gender": "male", "race": "asian", "age": "0-19"}),
        ("40_1_3_20170104.jpg.chip.jpg", {"gender": "female", "race": "indian", "age": "40-59"}),
        ("59_0_4_20170104.jpg.chip.jpg", {"gender": "male", "race": "other", "age": "40-59"}),
        ("60_1_0_20170104.jpg.chip.jpg", {"gender": "female", "race": "white", "age": "60+"}),
        ("116_1_0_20170104.jpg.chip.jpg", {"gender": "female", "race": "white", "age": "60+"}),
        ("0_0_0_20170104.jpg", {"gender": "male", "race": "white", "age": "0-19"}),
        ("39_0_1_20170104", {"gender": "male", "race": "black", "age": "20-39"}),
    ],
)
def test_parse_groups(name, expected):
    assert parse_groups(name) == expected


def test_parse_groups_reads_only_the_last_path_component():
    expected = {"gender": "female", "race": "asian", "age": "20-39"}
    assert parse_groups("/data/9_0_0_x/23_1_2_20170104.jpg.chip.jpg") == expected
    assert parse_groups(Path("images") / "23_1_2_20170104.jpg.chip.jpg") == expected


@pytest.mark.parametrize(
    "name",
    [
        "61_3_20170109150557335.jpg.chip.jpg",  # a field missing (a real UTKFace file)
        "61_1_20170109150557335.jpg.chip.jpg",  # also missing, but every field looks valid
        "25_2_1_20170116.jpg.chip.jpg",  # gender code 2
        "25_1_5_20170116.jpg.chip.jpg",  # race code 5
        "25_1_-1_20170116.jpg.chip.jpg",
        "x_1_1_20170116.jpg.chip.jpg",
        "25_one_1_20170116.jpg.chip.jpg",
        "25_1_1_2017x0116.jpg.chip.jpg",
        "25_1_1_.jpg.chip.jpg",
        "25_1_1.jpg",
        "2.5_1_1_20170116.jpg",
        "-3_1_1_20170116.jpg",
        "999_1_1_20170116.jpg",  # implausible age
        "_25_1_1_20170116.jpg",
        "25__1_1_20170116.jpg",
        "photo.jpg",
        "",
        "٢٥_1_1_20170116.jpg",  # non-ASCII digits
    ],
)
def test_parse_groups_rejects_malformed_names(name):
    assert parse_groups(name) is None


@pytest.mark.parametrize(
    "name,expected",
    [("ccp__0001.jpg", "ccp"), ("humanseg__87.jpg", "humanseg"), ("/d/images/ab2__x__y.png", "ab2")],
)
def test_source_tags_are_a_group(name, expected):
    assert parse_groups(name) == {"source": expected}


@pytest.mark.parametrize("name", ["__x.jpg", "CCP__1.jpg", "ccp__", "ccp_1.jpg", "1ccp__a.jpg", "averyveryverylongtag__a.jpg"])
def test_malformed_source_tags_are_not_groups(name):
    assert parse_groups(name) is None


def test_parse_groups_rejects_non_names():
    assert parse_groups(None) is None  # type: ignore[arg-type]
    assert parse_groups(25) is None  # type: ignore[arg-type]


def test_age_bins_are_contiguous():
    assert [age_bin(a) for a in (0, 19, 20, 39, 40, 59, 60, 200)] == [
        "0-19", "0-19", "20-39", "20-39", "40-59", "40-59", "60+", "60+"
    ]
    assert [label for *_, label in AGE_BINS] == ["0-19", "20-39", "40-59", "60+"]
    with pytest.raises(ValueError):
        age_bin(-1)


@pytest.mark.utkface
@pytest.mark.skipif(not (UTKFACE / "splits" / "test.txt").is_file(), reason="needs ../shared/data/utkface")
def test_every_real_test_name_parses():
    names = (UTKFACE / "splits" / "test.txt").read_text().split()
    groups = [parse_groups(n) for n in names]
    assert all(g is not None and set(g) == set(GROUP_KEYS) for g in groups)
    races = Counter(g["race"] for g in groups)
    assert set(races) == {"white", "black", "asian", "indian", "other"}
