"""Valid JSON, JSONL or YAML of the wrong shape or size (issue 24, class 2): every key the readers rely on given a
value of every other type, values nested thousands deep, numbers too large for a float, YAML alias bombs and
recursive aliases. Each command on the damaged folder or source answers in one line with exit 2 (or reads
around the damage, saying so), never with a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groklab.cli import main
from groklab.io import Each
from groklab.runs import CONFIG, EVALUATION, EVALUATION_KEYS, FITTED, SUMMARY
from groklab.sweep.record import RECORD

from .conftest import TINY

WRONG = {"null": None, "true": True, "int": 7, "big int": 10**400, "float": 1.5, "inf": float("inf"),
         "text": "x", "list": [1, "a"], "object": {"a": [1]}}
DEEP = {"list": "[" * 5000 + "]" * 5000, "object": '{"a":' * 5000 + "1" + "}" * 5000}


def kind_names(shape) -> set[str]:
    """The WRONG names a value of `shape` may take (the rest are wrong)."""
    if isinstance(shape, dict | Each):
        return {"object"}
    if isinstance(shape, list):
        return {"list"}
    kinds = shape if isinstance(shape, tuple) else (shape,)
    names = set()
    for k in kinds:
        names |= {int: {"int"}, float: {"int", "float", "inf"}, str: {"text"}, bool: {"true"}, dict: {"object"},
                  list: {"list"}, type(None): {"null"}}.get(k, set())
    return names


def wrong_values(shape: dict) -> list[tuple[str, str, object]]:
    """(key, kind, value) for every top-level key of a shape and every value kind it must not hold."""
    return [(key, name, value) for key, inner in shape.items() for name, value in WRONG.items()
            if name not in kind_names(inner)]


def one_line(capsys, argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 2:
        errors = [x for x in err.strip().splitlines() if x.startswith("groklab: error: ")]
        assert len(errors) == 1, err
    return code, err


READERS = {
    "show": lambda run: ["show", str(run)],
    "detect": lambda run: ["detect", str(run)],
    "report": lambda run: ["report", str(run.parent), "--no-figures"],
    "resume": lambda run: ["run", *TINY, "--out", str(run.parent), "--resume", "--quiet"],
}


@pytest.mark.parametrize("command", list(READERS))
@pytest.mark.parametrize(("key", "kind", "value"), wrong_values(SUMMARY), ids=lambda x: str(x)[:20])
def test_summary_values_of_the_wrong_type(run_copy, capsys, command, key, kind, value):
    path = run_copy / "summary.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {key: value}))
    code, err = one_line(capsys, READERS[command](run_copy))
    if code == 2:  # naming the key (or, for inf, the number groklab never writes)
        assert "summary.json" in err and (repr(key) in err or "Infinity is not a number" in err)


@pytest.mark.parametrize(("key", "kind", "value"), wrong_values(CONFIG), ids=lambda x: str(x)[:20])
def test_config_sections_of_the_wrong_type(run_copy, capsys, key, kind, value):
    path = run_copy / "config.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {key: value}))
    for command in ("show", "detect", "resume"):
        code, _ = one_line(capsys, READERS[command](run_copy))
        assert code in (0, 1, 2)


@pytest.mark.parametrize("name", ["summary.json", "config.json", "metrics.jsonl"])
@pytest.mark.parametrize("deep", list(DEEP))
def test_nesting_thousands_deep(run_copy, capsys, name, deep):
    path = run_copy / name
    if name == "metrics.jsonl":  # one deep line among valid ones: reported, the others kept
        path.write_text(path.read_text() + DEEP[deep] + "\n")
    else:
        path.write_text(DEEP[deep])
    for command in ("show", "detect", "resume"):
        code, err = one_line(capsys, READERS[command](run_copy))
        if name == "metrics.jsonl":
            assert "nested more than" in err or code == 2


@pytest.mark.parametrize("value", ["1e999", "-1e999", "1" + "0" * 400, "-" + "9" * 4000])
@pytest.mark.parametrize("where", ["step", "val/acc", "summary steps", "summary final"])
def test_numbers_too_large_for_a_float(run_copy, capsys, value, where):
    if where.startswith("summary"):
        path = run_copy / "summary.json"
        key = where.split()[1]
        text = json.dumps(json.loads(path.read_text()) | {key: "@@"})
        path.write_text(text.replace('"@@"', value if key == "steps" else '{"val/acc": ' + value + "}"))
    else:
        lines = (run_copy / "metrics.jsonl").read_text().splitlines()
        row = json.loads(lines[2])
        lines[2] = json.dumps(row | {where: "@@"}).replace('"@@"', value)
        (run_copy / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    for command in ("show", "detect", "report", "resume"):
        one_line(capsys, READERS[command](run_copy))


@pytest.fixture
def sweep_dir(tmp_path, capsys) -> Path:
    out = tmp_path / "runs"
    args = ["sweep", *[a for a in TINY if not a.startswith("train.steps")], "train.steps=10", "seed=0,1",
            "--out", str(out), "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    return next(out.glob("sweep-*"))


def test_sweep_records_of_the_wrong_shape(sweep_dir, capsys):
    """sweep.json's keys given every wrong type (and its members' keys): `groklab status` and a second sweep
    call answer in one line."""
    original = (sweep_dir / "sweep.json").read_text()
    cases = wrong_values(RECORD) + [("members", "member " + k, [{**json.loads(original)["members"][0], k: v}])
                                    for k, _, v in wrong_values(RECORD["members"][0])]
    for key, _, value in cases:
        (sweep_dir / "sweep.json").write_text(json.dumps(json.loads(original) | {key: value}))
        code, err = one_line(capsys, ["status", str(sweep_dir)])
        if code == 2:
            assert "sweep.json" in err


def damaged(original: dict, shape: dict, keys) -> list[dict]:
    """`original` with each key given every wrong type, and with each key its readers need left out."""
    return ([original | {key: value} for key, _, value in wrong_values(shape)]
            + [{k: v for k, v in original.items() if k != key} for key in keys])


def test_evaluation_and_fitted_records_of_the_wrong_shape(run_copy, capsys):
    """evaluations/*.json (read by `groklab show`: a damaged one is named and skipped) and fitted.json (read by
    `groklab evaluate`: one line naming it), each key given every wrong type or left out."""
    assert main(["evaluate", str(run_copy)]) == 0
    capsys.readouterr()
    (evaluation,) = (run_copy / "evaluations").glob("*.json")
    original = json.loads(evaluation.read_text())
    for record in [*damaged(original, EVALUATION, EVALUATION_KEYS), original | {"splits": {}}]:
        evaluation.write_text(json.dumps(record))
        code, err = one_line(capsys, ["show", str(run_copy)])
        assert code == 0 and "evaluation" in err and "skipped" in err, err
    fitted = run_copy / "fitted.json"
    original = json.loads(fitted.read_text())
    for record in damaged(original, FITTED, FITTED):
        fitted.write_text(json.dumps(record))
        code, err = one_line(capsys, ["evaluate", str(run_copy)])
        assert code == 2 and "fitted.json" in err, err


@pytest.mark.parametrize("text", [b"\xef\xbb\xbfn,k,m,P\n5,2,2,\"1,2,3;4,5,6\"\n", b"n,k,m,P\n5,2,\xff\xfe,1\n",
                                  b"n,k,m,P\n5,2,2,\"1,2,3;4,5,6\"\n\x00\x00\n", b"n,k,m,P\n5,2,2,\"1,2\n"])
def test_csv_of_codes_with_odd_bytes(tmp_path, text):
    """A byte-order mark is read past; bytes that are no UTF-8, NUL bytes, a quote left open: one line."""
    from groklab.errors import GroklabError
    from groklab.mheight.dataset import load_dataset

    path = tmp_path / "codes.csv"
    path.write_bytes(text)
    if text.startswith(b"\xef\xbb\xbf"):
        assert load_dataset(path, labels=False)["n"].tolist() == [5]
        return
    with pytest.raises(GroklabError) as e:
        load_dataset(path, labels=False)
    assert "\n" not in str(e.value)


YAML = {
    "bomb": "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)),
    "recursive": "a: &a [1, *a]\n",
    "recursive mapping": "a: &a {b: *a}\n",
    "deep": "a: " + "[" * 3000 + "]" * 3000 + "\n",
    "not a mapping": "- 1\n- 2\n",
    "huge integer": "steps: " + "9" * 5000 + "\n",
    "huge float": "lr: 1.0e+999\nwd: .inf\n",
}


@pytest.mark.parametrize("name", list(YAML))
def test_hostile_yaml_settings(capsys, tmp_path, name):
    """A Lightning folder whose hparams.yaml is an alias bomb, refers to itself, nests thousands deep, is no
    mapping, or holds an integer of 5,000 digits: one line; a float beyond a float's range is kept as its text."""
    pytest.importorskip("yaml")
    version = tmp_path / "version_0"
    version.mkdir()
    (version / "metrics.csv").write_text("step,train_acc,val_acc\n0,0.5,0.1\n1,0.9,0.2\n")
    (version / "hparams.yaml").write_text(YAML[name])
    code, err = one_line(capsys, ["import", str(version), "--out", str(tmp_path / "out"), "--no-detect"])
    if name != "huge float":
        assert code == 2 and "hparams.yaml" in err
    else:
        assert code == 0
        (folder,) = (tmp_path / "out").iterdir()
        assert json.loads((folder / "config.json").read_text())["imported"]["hparams"] == {"lr": "inf", "wd": "inf"}
