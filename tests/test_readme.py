"""The README's "Use" block, run line by line in its order, as a new user pastes it, on tiny configs.

The commands come from README.md itself, so an example that is edited there is tested as written. Each line gets only
what makes it small: tiny sizes appended to `run`, `sweep` and `tickets`, fewer rows for `mheight generate`, one
cheap preset for `suite`. Example folder names (`runs/power2022-xdivy-1a2b3c4d`, `runs/nanda2023-x_y-...`) become
the folder that exists; `runs/*` is expanded as a shell would. A line this test does not know fails it.
"""

import glob
import re
import shlex
from pathlib import Path

import pytest

from groklab.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"

TRANSFORMER = ["model.d_model=16", "model.n_heads=2", "model.d_mlp=32", "model.n_layers=1", "train.steps=30",
               "train.eval_every=10", "train.checkpoint_every=10", "train.log_checkpoints=4", "train.device=cpu"]
SMALL_P = ["task.p=11"]
MHEIGHT = ["task.groups=9,4,2;9,5,3", "task.per_group=20", "task.val_per_group=10", "model.d_model=16",
           "model.d_mlp=16", "model.n_layers=1", "train.steps=20", "train.eval_every=10", "train.batch_size=16",
           "train.device=cpu"]
# (the line's words up to its first option or override) -> what to append; None: run as written
TINY: dict[tuple[str, ...], list[str] | None] = {
    ("presets",): None,
    ("run", "nanda2023"): SMALL_P + TRANSFORMER,
    ("run",): SMALL_P + TRANSFORMER,
    ("show",): None,
    ("detect",): None,
    ("plot",): None,
    ("report",): None,
    ("import",): None,
    ("sweep", "power2022"): SMALL_P + TRANSFORMER,
    ("probe", "fourier"): None,
    ("tickets",): ["task.p=11", "train.steps=40", "train.eval_every=10", "train.log_checkpoints=4",
                   "model.d_model=24", "model.d_mlp=16", "train.device=cpu", "--retrain-steps", "20"],
    ("mheight", "generate"): None,  # --per-group replaced below
    ("mheight", "height"): None,
    ("mheight", "predict"): None,
    ("evaluate",): None,
    ("run", "mheight"): MHEIGHT,
    ("run", "mheight_grokking"): MHEIGHT,
    ("suite",): ["--only", "gromov2023"],  # a cheap preset the CI scale reproduces (the suite exits 1 otherwise)
    ("status",): None,
    ("writeup",): None,
}
NEEDS_A_CLUSTER = "--executor slurm"  # needs a SLURM cluster: tests/sweep/test_sweep_slurm.py covers those


def readme_commands() -> list[list[str]]:
    """The groklab commands of the README's first code block (after its `pip install ... &&`) and of the block
    under "## Use", in order, comments removed."""
    text = README.read_text()
    first = re.search(r"```bash\n(.*?)```", text, re.S)
    block = re.search(r"## Use\s+```bash\n(.*?)```", text, re.S)
    assert first and block, "README.md has no ```bash block at its top or under ## Use"
    start = [shlex.split(part) for part in first.group(1).split("&&") if part.strip().startswith("groklab")]
    return start + [shlex.split(line, comments=True) for line in block.group(1).splitlines() if line.strip()]


def words(argv: list[str]) -> tuple[str, ...]:
    """The command's leading words (`run mheight`), before options, overrides and paths."""
    out = []
    for a in argv[1:]:
        if a.startswith("-") or "=" in a or "/" in a:
            break
        out.append(a)
    return tuple(out)


def tiny(argv: list[str]) -> list[str]:
    """The README line with what makes it small."""
    key = words(argv)
    while key and key not in TINY:
        key = key[:-1]
    assert key in TINY, f"README line not known to tests/test_readme.py: {shlex.join(argv)}"
    args = argv[1:]
    if key == ("run",) and "--resume" in args:
        return args  # the folder holds its config: nothing to add
    if key == ("mheight", "generate"):
        # fewer rows, and only the groups the tiny m-height runs train on (evaluate and predict refuse others)
        args = [("40" if a in ("5000", "500") else a) for a in args] + ["--groups", MHEIGHT[0].split("=")[1],
                                                                         "--workers", "1", "--quiet"]
    extra = TINY[key] or []
    first_option = next((i for i, a in enumerate(args) if a.startswith("--")), len(args))
    items = [a for a in extra if "=" in a and not a.startswith("--")]  # overrides go before the options
    return args[:first_option] + items + args[first_option:] + [a for a in extra if a not in items]


def resolve(args: list[str]) -> list[str]:
    """Example folder names to the folders that exist; shell globs expanded."""
    out = []
    for a in args:
        example = re.fullmatch(r"(runs/[\w.+=-]*?-)(?:1a2b3c4d|\.\.\.)", a)
        if example:
            found = sorted(glob.glob(example.group(1) + "*"))
            assert found, f"{a}: no folder like it exists at this point of the README"
            a = found[0]
        out += sorted(glob.glob(a)) if "*" in a else [a]
    return out


def lightning_folder(path: Path) -> None:
    """A Lightning CSVLogger version folder, as `groklab import lightning_logs/version_0` expects one."""
    path.mkdir(parents=True)
    lines = ["epoch,step,train_loss,train_acc,val_loss,val_acc"]
    lines += [f"{s // 10},{s},{1 / (1 + s):.4f},{min(1, s / 50):.3f},{2 / (1 + s / 300):.4f},{min(1, s / 400):.3f}"
              for s in range(0, 1001, 10)]
    (path / "metrics.csv").write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_the_readme_use_block_runs_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GROKLAB_CACHE", str(tmp_path / "cache"))
    lightning_folder(tmp_path / "lightning_logs" / "version_0")
    ran, skipped = [], []
    for argv in readme_commands():
        assert argv[0] == "groklab", argv
        if NEEDS_A_CLUSTER in shlex.join(argv):
            skipped.append(shlex.join(argv))
            continue
        args = resolve(tiny(argv))
        code = main(args)
        out, err = capsys.readouterr()
        assert code == 0, f"{shlex.join(argv)} -> exit {code}: {err[-2000:]}"
        ran.append((argv, out, err))
    assert len(ran) >= 20 and len(skipped) <= 2, skipped
    assert Path("runs/report.html").is_file() and Path("suite/STATUS.md").is_file() and Path("wd.md").is_file()
    # back to `detect runs/*` after the report and the sweep: the report files and the sweep folder are skipped
    assert main(resolve(["detect", "runs/*"])) == 0
    err = capsys.readouterr().err
    assert "skipped" in err and "report.html" in err and "a sweep folder" in err
    assert not Path("comparison.png").exists()
