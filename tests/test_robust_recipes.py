"""Bad recipes through the command line: one line naming the file and the key (or line), with a
suggestion where there is one, and nothing built or written. test_recipe.py covers the library side
(unknown key with suggestion, wrong type, negative lr, syntax error line, unknown model and loss,
unknown model option, size not divisible by the stride)."""

import pytest
from typer.testing import CliRunner

from colorkit.cli import create_app

MODEL = '[model]\nname = "cunet"\nargs = { width = 8, depth = 3, dilations = [1, 2] }\n[data]\nsize = 32\n'

CASES = {
    "loss_not_a_list": ('name = "x"\nloss = "mse"\n', ["key 'loss'", "valid list"]),
    "negative_weight": ('name = "x"\n[[loss]]\nname = "mse"\nweight = -1\n', ["key 'loss.0.weight'", "greater than or equal to 0", "got -1"]),
    "zero_epochs": ('name = "x"\n[train]\nepochs = 0\n', ["key 'train.epochs'", "greater than or equal to 1"]),
    "bad_choice": ('name = "x"\n[data]\non_bad_file = "ignore"\n', ["key 'data.on_bad_file'", "'skip' or 'stop'", "got 'ignore'"]),
    "unknown_section": ('name = "x"\n[trian]\nepochs = 1\n', ["unknown key 'trian'", "Did you mean 'train'?"]),
    "unknown_optimiser": ('name = "x"\n[optim]\nname = "adamm"\n', ["key 'optim.name'", "'adam', 'adamw' or 'sgd'"]),
    "two_errors_one_line": ('name = "x"\n[optim]\nlr = -1\n[train]\nbatch_size = 0\n', ["key 'optim.lr'", "key 'train.batch_size'"]),
    "missing_name": ("[train]\nepochs = 1\n", ["key 'name'", "required"]),
    "duplicate_key": ('name = "x"\nname = "y"\n', ["TOML syntax error", "line 2"]),
    "not_utf8": (b'name = "\xff"\n', ["cannot read recipe", "utf-8"]),
    "loss_option_of_a_loss_without_options": ('name = "x"\n' + MODEL + '[[loss]]\nname = "mse"\nargs = { foo = 1 }\n', ["key 'loss.0.args.foo'", "unknown option"]),
    "model_option_type": ('name = "x"\n[model]\nargs = { width = "wide" }\n', ["key 'model.args'", "width"]),
    "stride": ('name = "x"\n[data]\nsize = 36\n[model]\nname = "unet"\nargs = { depth = 3 }\n', ["key 'data.size'", "stride", "try 32 or 40"]),
    "checkpoint_steps": ('name = "x"\n[train]\nepochs = 1\ncheckpoint_every_steps = 0\n', ["key 'train.checkpoint_every_steps'"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_recipe_is_one_line_and_builds_nothing(tmp_path, case):
    text, fragments = CASES[case]
    path = tmp_path / f"{case}.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    for command in (["validate", path], ["run", path, "--out", tmp_path / "runs"]):
        result = CliRunner().invoke(create_app(), [str(a) for a in command])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.output, result.output
        assert str(path) in lines[0]
        for fragment in fragments:
            assert fragment in lines[0], lines[0]
    assert not (tmp_path / "runs").exists()  # nothing created before validation passed


def test_a_loss_option_the_factory_refuses_leaves_no_run_directory(tmp_path):
    """Values are checked by the loss itself when it is built; that failure still leaves nothing behind."""
    path = tmp_path / "r.toml"
    path.write_text('name = "x"\n' + MODEL + '[[loss]]\nname = "chroma_weighted"\nargs = { base = "huber" }\n[train]\nepochs = 1\n')
    result = CliRunner().invoke(create_app(), ["run", str(path), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "base" in result.output and "Traceback" not in result.output, result.output
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir()), result.output
