"""Training on several image folders at once, each with a mixing weight (`[[data.sources]]`)."""

from collections import Counter

import pytest

from colorkit.data.dataset import EpochSampler, build_datasets
from colorkit.errors import ColorkitError
from colorkit.recipe import DataConfig, DataSource, parse_recipe
from colorkit.errors import RecipeError
from colorkit.testing import make_images


def _source_of(index: int, mix: list[tuple[int, float]]) -> int:
    for k, (count, _) in enumerate(mix):
        if index < count:
            return k
        index -= count
    raise AssertionError("index past the last source")


def test_each_epoch_draws_the_weighted_share_of_every_source():
    mix = [(100, 1.0), (10, 3.0)]  # a small folder with three times the weight: repeated, ~9 passes
    sampler = EpochSampler(110, seed=3, mix=mix)
    order = list(sampler)
    counts = Counter(_source_of(i, mix) for i in order)
    assert len(order) == 110 and counts == {0: 28, 1: 82}
    small = Counter(i for i in order if i >= 100)
    assert set(small) == set(range(100, 110)) and max(small.values()) - min(small.values()) <= 1  # whole passes first


def test_a_large_source_with_a_small_weight_is_subsampled_afresh_each_epoch():
    mix = [(10, 1.0), (100, 1.0)]
    sampler = EpochSampler(110, seed=0, mix=mix)
    seen = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        seen.append({i for i in sampler if i >= 10})
    assert len(seen[0]) == len(seen[1]) == 55 and seen[0] != seen[1]


def test_mixed_order_is_seeded_and_resumes_mid_epoch():
    mix = [(7, 2.0), (5, 1.0)]
    a, b = EpochSampler(12, seed=1, mix=mix), EpochSampler(12, seed=1, mix=mix)
    a.set_epoch(4)
    b.set_epoch(4, start=5)
    full = list(a)
    assert list(b) == full[5:] and len(b) == 7
    assert full != list(EpochSampler(12, seed=2, mix=mix))


def test_build_datasets_stores_the_sources_in_order(tmp_path):
    first, second = tmp_path / "faces", tmp_path / "scenes"
    make_images(first, count=6, size=24)
    make_images(second, count=4, size=24, seed=1)
    (tmp_path / "val.txt").write_text("img_001.jpg\n")
    data = DataConfig(
        size=16,
        cache=False,
        val_fraction=0.2,
        sources=[DataSource(folder=str(first), weight=2.0), DataSource(folder=str(second), val_split=str(tmp_path / "val.txt"))],
    )
    split = build_datasets(data, seed=0)
    assert split.mix == [(5, 2.0), (4, 1.0)]  # one of six held out of the first; the second has a val list
    assert [f.parent.name if f.parent.name != "nested" else f.parent.parent.name for f in split.train.files] == ["faces"] * 5 + ["scenes"] * 4
    assert split.val_names[-1] == "scenes/img_001.jpg" and split.val_names[0].startswith("faces/")


def test_a_missing_folder_names_its_source(tmp_path):
    make_images(tmp_path / "ok", count=3, size=16)
    data = DataConfig(sources=[DataSource(folder=str(tmp_path / "ok")), DataSource(folder=str(tmp_path / "nope"))])
    with pytest.raises(ColorkitError, match=r"data.sources.1.folder: .*nope' is not a folder"):
        build_datasets(data, seed=0)


@pytest.mark.parametrize("single", ['source = "x"', 'train_split = "t.txt"', "limit = 3"])
def test_sources_and_a_single_source_are_not_mixed(single):
    raw = {"name": "r", "data": {"sources": [{"folder": "a"}]}}
    key, _, value = single.partition(" = ")
    raw["data"][key] = value.strip('"') if value.startswith('"') else int(value)
    with pytest.raises(RecipeError, match=r"set data.sources or data\.\w+, not both"):
        parse_recipe(raw, "r.toml")


def test_a_weight_must_be_positive():
    with pytest.raises(RecipeError, match=r"data.sources.0.weight"):
        parse_recipe({"name": "r", "data": {"sources": [{"folder": "a", "weight": 0}]}}, "r.toml")


def test_resolved_paths_are_absolute_and_survive_a_round_trip(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = parse_recipe({"name": "r", "data": {"sources": [{"folder": "a", "train_split": "a/t.txt"}]}}, "r.toml")
    data = recipe.data.resolved()
    assert data.sources[0].folder == str(tmp_path / "a") and data.sources[0].train_split == str(tmp_path / "a" / "t.txt")
    import tomllib

    again = parse_recipe(tomllib.loads(recipe.model_copy(update={"data": data}).to_toml()), "again.toml")
    assert again.data == data


def test_a_source_without_validation_repeats_a_group_and_holds_none_out(tmp_path):
    """A group of a folder trained on again (``validation = false``): all its images train, none validate twice."""
    make_images(tmp_path / "faces", count=6, size=24)
    (tmp_path / "group.txt").write_text("# two of the faces\nimg_001.jpg\nimg_002.png\n")
    data = DataConfig(
        size=16,
        cache=False,
        val_fraction=0.5,
        sources=[DataSource(folder=str(tmp_path / "faces")), DataSource(folder=str(tmp_path / "faces"), train_split=str(tmp_path / "group.txt"), weight=0.5, validation=False)],
    )
    split = build_datasets(data, seed=0)
    assert split.mix == [(3, 1.0), (2, 0.5)] and split.val_counts == [3, 0]
    assert [f.name for f in split.train.files[3:]] == ["img_001.jpg", "img_002.png"]


def test_a_source_without_validation_takes_no_val_split():
    with pytest.raises(RecipeError, match=r"data.sources.0.*validation = false takes no val_split"):
        parse_recipe({"name": "r", "data": {"sources": [{"folder": "a", "val_split": "v.txt", "validation": False}]}}, "r.toml")
