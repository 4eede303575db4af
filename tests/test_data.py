"""Finding, splitting and decoding images."""

import numpy as np
import pytest
import torch
from PIL import Image

from colorkit.data.dataset import EpochSampler, ImageFiles, build_datasets, collate
from colorkit.data.images import find_images, load_rgb, read_split
from colorkit.data.sample import sample_photos
from colorkit.errors import ColorkitError, ImageError
from colorkit.recipe import DataConfig


def test_find_images_is_recursive_sorted_and_filters_extensions(tmp_path):
    for rel in ["b.png", "a.JPG", "sub/c.webp", "sub/deeper/d.tiff", "notes.txt", "e.bmp"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    names = [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path).files]
    assert names == ["a.JPG", "b.png", "e.bmp", "sub/c.webp", "sub/deeper/d.tiff"]


def test_split_list_reports_missing_names(tmp_path, tiny_image_folder):
    split = tmp_path / "split.txt"
    split.write_text("img_001.jpg\n# a comment\nnested/img_000.png\nmissing.jpg\n\n")
    files, missing = read_split(tiny_image_folder, split)
    assert [f.name for f in files] == ["img_001.jpg", "img_000.png"] and missing == ["missing.jpg"]


def test_decoding_modes_give_rgb(tmp_path):
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    rgba.save(tmp_path / "a.png")
    Image.new("L", (3, 5), 77).save(tmp_path / "g.png")
    assert (load_rgb(tmp_path / "a.png") == 255).all()  # transparent red composited on white
    g = load_rgb(tmp_path / "g.png")
    assert g.shape == (5, 3, 3) and (g == 77).all()


@pytest.mark.parametrize("content,reason", [(b"", "empty file"), (b"not an image at all", "not an image")])
def test_bad_files_name_the_file_and_reason(tmp_path, content, reason):
    p = tmp_path / "bad.jpg"
    p.write_bytes(content)
    with pytest.raises(ImageError, match=reason) as exc:
        load_rgb(p)
    assert str(p) in str(exc.value)


def test_bad_file_in_dataset_becomes_an_error_entry(tmp_path, tiny_image_folder):
    bad = tiny_image_folder / "zz_bad.jpg"
    bad.write_bytes(b"garbage")
    files = find_images(tiny_image_folder).files
    batch = collate([ImageFiles(files, 16)[i] for i in range(len(files))])
    assert batch["rgb"].shape == (len(files) - 1, 3, 16, 16) and batch["rgb"].dtype == torch.uint8
    assert len(batch["errors"]) == 1 and "zz_bad.jpg" in batch["errors"][0]


def test_split_is_deterministic_from_the_seed(tiny_image_folder):
    cfg = DataConfig(source=str(tiny_image_folder), size=16, val_fraction=0.25)
    a, b, c = build_datasets(cfg, 1), build_datasets(cfg, 1), build_datasets(cfg, 2)
    assert a.val_names == b.val_names and len(a.val_names) == 3
    assert a.val_names != c.val_names
    assert not set(a.val.files) & set(a.train.files)


def test_stop_mode_refuses_a_bad_file_before_training(tiny_image_folder):
    (tiny_image_folder / "zz_bad.png").write_bytes(b"garbage")
    with pytest.raises(ColorkitError, match=r"zz_bad.png.*on_bad_file"):
        build_datasets(DataConfig(source=str(tiny_image_folder), size=16, on_bad_file="stop"), 0)


def test_sampler_is_a_seeded_permutation_that_can_resume():
    s = EpochSampler(10, seed=3)
    s.set_epoch(1)
    full = list(s)
    assert sorted(full) == list(range(10))
    s.set_epoch(1, start=4)
    assert list(s) == full[4:] and len(s) == 6
    s.set_epoch(2)
    assert list(s) != full


def test_sample_source_ships_with_dependencies():
    photos = sample_photos()
    assert {"astronaut", "grace_hopper"} <= set(photos)
    split = build_datasets(DataConfig(source="sample", size=32, sample_crops=5), seed=0)
    item = split.train[0]
    assert item["rgb"].shape == (3, 32, 32)
    split.train.set_epoch(1)
    assert not torch.equal(split.train[0]["rgb"], item["rgb"])  # fresh crops each epoch
    assert np.asarray(split.val[0]["rgb"]).std() > 10  # real photos, not blank
