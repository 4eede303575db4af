"""The hints file: every colour form, both units, JSON and TOML, the round trip, and each bad input's one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage.color import rgb2lab

from colorkit.errors import ColorkitError
from colorkit.hints import Hint, render_hints
from colorkit.hints.file import hints_document, hints_file_for, is_hints_name, parse_hints, read_hints_file

W, H = 200, 100


def lab_ab(rgb):
    lab = rgb2lab(np.asarray(rgb, np.uint8).reshape(1, 1, 3))[0, 0]
    return lab[1], lab[2]


def one(entry: dict, units: str | None = None, **kw) -> Hint:
    doc = {"hints": [entry]} | ({"units": units} if units else {})
    (hint,) = parse_hints(doc, W, H, "photo.hints.json", **kw)
    return hint


def test_pixels_become_fractions_of_the_photo_and_radius_of_its_shorter_side():
    hint = one({"x": 120, "y": 80, "ab": [12.5, -40.0], "radius": 4})
    assert (hint.x, hint.y) == pytest.approx(((120 + 0.5) / W, (80 + 0.5) / H))
    assert hint.ab == (12.5, -40.0) and hint.radius == pytest.approx(4 / H) and hint.frame is None
    assert one({"x": 0, "y": 0, "ab": [0, 0]}).radius == 0.0  # default: one network pixel


def test_fraction_units_are_kept_as_they_are():
    hint = one({"x": 0.5, "y": 0.25, "ab": [1, 2], "radius": 0.1}, units="fraction")
    assert (hint.x, hint.y, hint.radius) == (0.5, 0.25, 0.1)


@pytest.mark.parametrize("color,rgb", [("#1f3a93", (0x1F, 0x3A, 0x93)), ("#AA0000", (170, 0, 0)), ([200, 30, 40], (200, 30, 40))])
def test_a_colour_gives_its_lab_ab_and_drops_its_l(color, rgb):
    assert one({"x": 1, "y": 1, "color": color}).ab == pytest.approx(lab_ab(rgb), abs=1e-3)


def test_the_documented_json_example_and_the_same_hints_in_toml(tmp_path):
    entries = [{"x": 120, "y": 80, "color": "#1f3a93", "radius": 4}, {"x": 0.5, "y": 0.25, "color": [200, 30, 40]}, {"x": 10, "y": 20, "ab": [12.5, -40.0]}]
    (tmp_path / "a.hints.json").write_text(json.dumps({"units": "px", "hints": entries}))
    (tmp_path / "a.hints.toml").write_text(
        'units = "px"\n\n[[hints]]\nx = 120\ny = 80\ncolor = "#1f3a93"\nradius = 4\n\n'
        "[[hints]]\nx = 0.5\ny = 0.25\ncolor = [200, 30, 40]\n\n[[hints]]\nx = 10\ny = 20\nab = [12.5, -40.0]\n"
    )
    from_json, from_toml = read_hints_file(tmp_path / "a.hints.json", W, H), read_hints_file(tmp_path / "a.hints.toml", W, H)
    assert from_json == from_toml and len(from_json) == 3
    assert [h.ab for h in from_json][2] == (12.5, -40.0)


def test_frame_is_read_for_a_video_only():
    assert one({"x": 100, "y": 50, "color": "#aa0000", "frame": 3}, allow_frame=True).frame == 3
    with pytest.raises(ColorkitError, match=r"^photo.hints.json: hints\[0\]: 'frame' is for a video"):
        one({"x": 100, "y": 50, "color": "#aa0000", "frame": 0})


def test_an_empty_list_is_no_hints():
    assert parse_hints({"hints": []}, W, H, "browser") == []


def test_the_written_document_reads_back_as_the_same_hints(tmp_path):
    rng = np.random.default_rng(0)
    hints = [Hint(float(x), float(y), (float(a), float(b)), float(r)) for x, y, a, b, r in
             zip(rng.uniform(0.5 / W, 1 - 0.5 / W, 20), rng.uniform(0.5 / H, 1 - 0.5 / H, 20), *rng.uniform(-100, 100, (2, 20)), rng.uniform(0, 0.1, 20))]
    hints.append(Hint(0.3, 0.6, (5.0, -5.0), 0.0, frame=7))
    doc = hints_document(hints, W, H)
    assert doc["units"] == "px" and doc["hints"][-1]["frame"] == 7
    (tmp_path / "r.hints.json").write_text(json.dumps(doc))
    back = read_hints_file(tmp_path / "r.hints.json", W, H, allow_frame=True)
    for h, b in zip(hints, back, strict=True):
        assert b.ab == h.ab and b.frame == h.frame  # the colour is exact
        assert (b.x, b.y, b.radius) == pytest.approx((h.x, h.y, h.radius), abs=1e-3 / H)
    assert np.array_equal(render_hints(hints[:-1], 64), render_hints(back[:-1], 64))
    assert parse_hints(hints_document(back, W, H), W, H, "browser", allow_frame=True) == back  # a second trip is exact


def test_hand_written_pixels_are_written_back_as_they_were():
    entries = [{"x": 120, "y": 80, "ab": [12.5, -40.0], "radius": 4}, {"x": 0.5, "y": 99, "ab": [1.0, 2.0]}]
    assert hints_document(parse_hints({"hints": entries}, W, H, "f"), W, H) == {"units": "px", "hints": entries}


@pytest.mark.parametrize("entry,why", [
    ({"x": 200, "y": 5, "ab": [1, 2]}, r"hints\[0\]: x = 200 is outside the image \(pixels 0..199 of a 200x100 photo\)"),
    ({"x": 5, "y": -1, "ab": [1, 2]}, r"hints\[0\]: y = -1 is outside the image"),
    ({"x": 5, "y": 5, "color": "#12345"}, r"hints\[0\] key 'color': '#12345' is not a colour: write '#rrggbb'"),
    ({"x": 5, "y": 5, "color": "navy"}, r"'navy' is not a colour"),
    ({"x": 5, "y": 5, "color": [300, 0, 0]}, r"\[r, g, b\] takes three whole numbers in 0..255"),
    ({"x": 5, "y": 5, "color": [1, 2]}, r"\[r, g, b\] takes three whole numbers"),
    ({"x": 5, "y": 5, "color": 5}, r"key 'color': 5 is not a colour: write '#rrggbb'"),
    ({"x": 5, "y": 5, "ab": "blue"}, r"key 'ab': 'blue': ab takes two numbers"),
    ({"x": 5, "y": 5, "ab": [1, 120]}, r"key 'ab': \[1, 120\]: ab takes two numbers \[a, b\] in \[-110, 110\]"),
    ({"x": 5, "y": 5, "color": "#000000", "ab": [1, 2]}, r"hints\[0\]: give exactly one of 'color' and 'ab' \(it has both\)"),
    ({"x": 5, "y": 5}, r"hints\[0\]: give exactly one of 'color' and 'ab' \(it has neither\)"),
    ({"x": 5, "y": 5, "ab": [1, 2], "radius": -1}, r"key 'radius': Input should be greater than or equal to 0"),
    ({"x": "5", "y": 5, "ab": [1, 2]}, r"hints\[0\] key 'x': Input should be a valid number, not '5'"),
    ({"x": True, "y": 5, "ab": [1, 2]}, r"key 'x': Input should be a valid number, not True"),
    ({"x": 5, "y": 5, "colour": "#000000"}, r"hints\[0\]: unknown key 'colour' \(valid: x, y, color, ab, radius, frame\)"),
    ({"x": 5, "y": 5, "ab": [1, 2], "frame": -1}, r"key 'frame': Input should be greater than or equal to 0"),
])
def test_a_bad_hint_is_one_line_naming_the_file_the_hint_and_why(entry, why):
    doc = {"hints": [{"x": 1, "y": 1, "ab": [0, 0]}, entry]}
    with pytest.raises(ColorkitError) as info:
        parse_hints(doc, W, H, "photo.hints.json", allow_frame=True)
    message = str(info.value)
    assert "\n" not in message and message.startswith("photo.hints.json: hints[1]")
    assert __import__("re").search(why.replace(r"hints\[0\]", r"hints\[1\]"), message), message


@pytest.mark.parametrize("doc,why", [
    ({"units": "fraction", "hints": [{"x": 1.5, "y": 0, "ab": [0, 0]}]}, r"hints\[0\]: x = 1.5 is outside the image \(units \"fraction\": 0..1\)"),
    ({"units": "mm", "hints": []}, r"key 'units': Input should be 'px' or 'fraction', not 'mm'"),
    ({"hint": []}, r"unknown key 'hint' \(valid: units, hints\)"),
    ({}, r"key 'hints': missing \(a list of points\)"),
    ({"hints": [3]}, r"hints\[0\]: should be a table of x, y and a colour, not 3"),
    ([1, 2], r"a hints document is a table with 'hints'"),
])
def test_a_bad_document_is_one_line(doc, why):
    with pytest.raises(ColorkitError, match=r"^browser: " + why):
        parse_hints(doc, W, H, "browser")


@pytest.mark.parametrize("name,text,why", [
    ("a.hints.json", '{"hints": [{"x": 1,}]}', r"malformed JSON: .* \(line 1, column \d+\)"),
    ("a.hints.toml", "[[hints]\nx = 1", r"malformed TOML: "),
    ("a.hints.yaml", "hints: []", r"a hints file is .json or .toml"),
])
def test_a_malformed_file_is_one_line_naming_it(tmp_path, name, text, why):
    (tmp_path / name).write_text(text)
    with pytest.raises(ColorkitError, match=why) as info:
        read_hints_file(tmp_path / name, W, H)
    assert str(info.value).startswith(str(tmp_path / name)) and "\n" not in str(info.value)


def test_hints_files_are_found_beside_their_photo(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / "a.hints.toml").write_text("hints = []")
    assert hints_file_for(tmp_path / "a.jpg") == tmp_path / "a.hints.toml" and hints_file_for(tmp_path / "b.jpg") is None
    assert is_hints_name("x/A.Hints.JSON") and not is_hints_name("a.json")
