"""Adversarial loss: pix2pix terms, a discriminator that learns only in its own step, and real resume."""

from __future__ import annotations

import io
import types

import pytest
import torch
from rich.console import Console

from colorkit.build import LossSet
from colorkit.checkpoint import read_checkpoint
from colorkit.hookspecs import hookimpl
from colorkit.losses.adversarial import AdversarialLoss
from colorkit.models.patchgan import PatchGAN
from colorkit.plugins import create_host
from colorkit.recipe import load_recipe
from colorkit.testing import make_images, write_recipe
from colorkit.training.trainer import read_metrics, resume_run, start_run

TINY = dict(disc_width=8, disc_layers=2)


def _batch(n: int = 4, size: int = 32, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    L = torch.rand(n, 1, size, size, generator=g) * 2 - 1
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    ab = 0.4 * torch.stack([xx, yy], 0)[None].repeat(n, 1, 1, 1) * L.sign()  # colour that depends on L
    return L, ab


def _disc_params(loss: AdversarialLoss) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in loss.disc.named_parameters()}


def test_terms_are_pix2pix_gan_plus_weighted_l1():
    torch.manual_seed(0)
    L, ab = _batch()
    pred = torch.zeros_like(ab)
    terms = AdversarialLoss(**TINY)(pred, ab, L=L)
    assert set(terms) == {"gan", "l1"}
    assert float(terms["l1"]) == pytest.approx(100.0 * float((pred - ab).abs().mean()), rel=1e-5)
    assert float(terms["gan"]) > 0
    off = AdversarialLoss(gan_weight=0.0, l1_weight=2.0, **TINY)(pred, ab, L=L)
    assert float(off["gan"]) == 0.0 and float(off["l1"]) == pytest.approx(2.0 * float((pred - ab).abs().mean()), rel=1e-5)


def test_discriminator_is_built_through_the_registry_with_the_options():
    loss = AdversarialLoss(disc_width=8, disc_layers=2, disc_norm="spectral")
    assert isinstance(loss.disc, PatchGAN) and loss.disc.layers == 2 and loss.disc.norm == "spectral"
    assert loss.disc.net[0].in_channels == 3  # L and ab
    assert PatchGAN.role == "discriminator"


def test_generator_step_leaves_the_discriminator_alone():
    torch.manual_seed(0)
    L, ab = _batch()
    generator = torch.nn.Conv2d(1, 2, 3, padding=1)
    loss = AdversarialLoss(**TINY)
    opt = torch.optim.Adam(generator.parameters(), lr=1e-2)
    d_opt = loss.configure_optimizer()
    before = _disc_params(loss)
    g_before = generator.weight.detach().clone()
    terms = loss(generator(L), ab, L=L)
    (terms["gan"] + terms["l1"]).backward()
    opt.step()
    assert not torch.equal(generator.weight, g_before)  # the generator learned ...
    assert all(p.grad is None for p in loss.disc.parameters())  # ... and D got no gradient
    assert all(p.requires_grad for p in loss.disc.parameters())  # switched back on afterwards
    d_opt.step()  # even a stray step of D's own optimiser has nothing to apply
    assert all(torch.equal(before[k], v) for k, v in loss.disc.named_parameters())
    loss.auxiliary_step(generator(L).detach(), ab, L=L)  # D moves only here
    assert any(not torch.equal(before[k], v) for k, v in loss.disc.named_parameters())


def test_auxiliary_step_ignores_gradients_left_on_the_discriminator():
    torch.manual_seed(0)
    L, ab = _batch()
    loss = AdversarialLoss(**TINY)
    reference = AdversarialLoss(**TINY)
    reference.load_state_dict(loss.state_dict())
    for p in loss.disc.parameters():  # as if a generator step had leaked into D's .grad
        p.grad = torch.full_like(p, 1e3)
    pred = torch.zeros_like(ab)
    loss.auxiliary_step(pred, ab, L=L)
    reference.auxiliary_step(pred, ab, L=L)
    for (k, a), b in zip(loss.disc.named_parameters(), reference.disc.parameters()):
        assert torch.allclose(a, b), k


@pytest.mark.parametrize("gan_mode", ["vanilla", "lsgan"])
def test_discriminator_learns_a_toy_problem(gan_mode):
    """Real: colours that follow L; fake: gray. A few D steps separate them."""
    torch.manual_seed(0)
    L, ab = _batch()
    loss = AdversarialLoss(gan_mode=gan_mode, lr=1e-3, **TINY)
    loss.eval()  # the step trains D in train mode whatever the loss's mode, then restores it
    logs = [loss.auxiliary_step(torch.zeros_like(ab), ab, L=L) for _ in range(25)]
    assert not loss.disc.training
    assert set(logs[0]) == {"d_loss", "d_real", "d_fake"}
    assert logs[-1]["d_loss"] < 0.5 * logs[0]["d_loss"]
    assert logs[-1]["d_real"] > logs[-1]["d_fake"]


def test_optimizer_is_created_once_and_named_for_checkpoints():
    loss = AdversarialLoss(lr=1e-3, betas=[0.6, 0.9], **TINY)
    losses = LossSet([("adversarial", 1.0, loss)], [{"name": "adversarial", "args": {}}])
    opts = losses.optimizers()
    assert list(opts) == ["loss.adversarial"] and opts["loss.adversarial"] is loss.configure_optimizer()
    group = opts["loss.adversarial"].param_groups[0]
    assert group["lr"] == 1e-3 and tuple(group["betas"]) == (0.6, 0.9)
    assert {id(p) for p in group["params"]} == {id(p) for p in loss.disc.parameters()}
    state = losses.checkpoint_state()
    assert any(k.startswith("losses.0.disc.") and k.endswith("running_mean") for k in state)
    assert {f"losses.0.disc.{k}" for k, _ in loss.disc.named_parameters()} <= set(state)


def test_missing_lightness_is_a_clear_error():
    _, ab = _batch()
    with pytest.raises(ValueError, match=r"adversarial: needs the input lightness as L="):
        AdversarialLoss(**TINY)(ab, ab)


@pytest.mark.parametrize(
    "options,option",
    [
        (dict(gan_mode="wgan"), "gan_mode"),
        (dict(l1_weight=-1), "l1_weight"),
        (dict(gan_weight="a lot"), "gan_weight"),
        (dict(lr=0), "lr"),
        (dict(betas=[0.5]), "betas"),
        (dict(disc_width=0), "disc_width"),
        (dict(disc_layers=1.5), "disc_layers"),
        (dict(disc_norm="group"), "disc_norm"),
        (dict(discriminator="patchgann"), "discriminator"),
    ],
)
def test_bad_options_name_the_option(options, option):
    with pytest.raises(ValueError, match=rf"^adversarial: .*\b{option}\b"):
        AdversarialLoss(**options)


# ------------------------------------------------------------------------ training and resume


def _host_with_adversarial():
    """The built-ins, plus "adversarial" from a test plugin where the built-ins do not register it yet."""
    host = create_host(entry_points=False)
    if "adversarial" in host.losses:
        return host
    plugin = types.ModuleType("adversarial_test_plugin")

    @hookimpl
    def colorkit_register_losses(register):
        register("adversarial", AdversarialLoss)

    plugin.colorkit_register_losses = colorkit_register_losses
    host = create_host(entry_points=False, extra=[("adversarial-test", plugin)])
    assert "adversarial" in host.losses and not host.problems()
    return host


def test_discriminator_and_its_optimiser_are_checkpointed_and_resumed(tmp_path):
    host = _host_with_adversarial()
    photos = tmp_path / "photos"
    make_images(photos, count=8)
    path = write_recipe(tmp_path / "adv.toml", photos, tmp_path / "runs", model="cunet", loss="adversarial")
    text = path.read_text()
    path.write_text(text.replace('name = "adversarial"\n', 'name = "adversarial"\nargs = { disc_width = 8, disc_layers = 2 }\n'))
    quiet = Console(file=io.StringIO())

    trainer = start_run(load_recipe(path), source=str(path), host=host, console=quiet)
    disc = trainer.losses.losses[0].disc
    initial = {k: v.detach().clone() for k, v in disc.state_dict().items()}
    trainer.run()
    run_dir = trainer.run_dir

    tensors, meta = read_checkpoint(run_dir / "checkpoints" / "last.safetensors")
    saved_disc = {k[len("losses.losses.0.disc."):]: v for k, v in tensors.items() if k.startswith("losses.losses.0.disc.")}
    assert set(saved_disc) == set(initial)  # weights and BatchNorm buffers
    assert any(not torch.equal(saved_disc[k], initial[k]) for k in initial)  # D trained
    saved_opt = {k: v for k, v in tensors.items() if k.startswith("optim.loss.adversarial.")}
    assert any(k.endswith(".exp_avg") for k in saved_opt) and any(k.endswith(".exp_avg_sq") for k in saved_opt)
    assert "loss.adversarial" in meta["optimizers"]
    terms = read_metrics(run_dir)[-1]["terms"]
    assert {"adversarial.gan", "adversarial.l1", "adversarial.d_loss", "adversarial.d_real"} <= set(terms)

    resumed = resume_run(run_dir, overrides=["train.epochs=3"], host=host, console=quiet)
    loaded = resumed.losses.losses[0].disc.state_dict()
    assert set(loaded) == set(saved_disc)
    for k, v in loaded.items():  # before training continues: exactly the checkpoint's discriminator
        assert torch.equal(v, saved_disc[k]), k
    d_opt = resumed.aux_opts["loss.adversarial"]
    assert d_opt is resumed.losses.losses[0].configure_optimizer()
    for pid, state in d_opt.state_dict()["state"].items():
        for key in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(state[key], tensors[f"optim.loss.adversarial.{pid}.{key}"])
    result = resumed.run()
    assert result.epochs == 3
    after = resumed.losses.losses[0].disc.state_dict()
    assert any(not torch.equal(after[k], saved_disc[k]) for k in after)  # and it goes on learning
