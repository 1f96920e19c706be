"""Exported policies scored: the same outcomes as the registered submission they came from,
through ``harness.score`` (what ``eval`` runs), ``eval``, ``submit`` and the queue; symbolic and
fixed batches, logits, a recurrent carry; ``evaluate_policy``'s unverified records and the
leaderboard that keeps them apart; ``finetune`` refused.

Hostile folders are in test_exported_hostile.py; helpers in exported_helpers.py.
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from exported_helpers import TINY_ENV, tiny_logits, tiny_params, tiny_policy

import harness
from harness.cli import main
from harness.scoring.protocols import ZeroShot
from harness.submissions import SubmissionError, load_submission

BENCH = "handmade-s-v1"
SMALL = ZeroShot(attempts=4, max_steps=48)  # a small protocol object: the same code path


def _outcomes_equal(a: dict, b: dict) -> None:
    for k in ("solved", "died", "return", "length"):
        assert np.array_equal(np.asarray(a[k]), np.asarray(b[k])), k


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("exported") / "tiny-linear"
    harness.export_policy(tiny_policy, tiny_params(), TINY_ENV, out, architecture="custom:linear")
    return out


@pytest.fixture(scope="module")
def tiny_scored(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("records")
    return harness.score(str(tiny), BENCH, SMALL, out=out, cache_dir=None, bootstrap_reps=200)


def test_registered_export_scores_identically(tmp_path):
    """general-random-s-cpu (entity transformer) and its export: the same outcomes, bit for bit,
    and the same metrics, through harness.score (the call behind eval, submit's queue and
    leaderboard refresh)."""
    reg = harness.load_submission("submissions/general-random-s-cpu")
    folder = harness.export_registered(reg, tmp_path / "exported")
    exp = load_submission(folder)
    assert exp.kind == "jax-exported" and exp.architecture == "jax-exported:entity-transformer@v1"
    kw = dict(cache_dir=None, bootstrap_reps=200)
    a = harness.score(reg, BENCH, SMALL, out=tmp_path / "a", **kw)
    b = harness.score(exp, BENCH, SMALL, out=tmp_path / "b", **kw)
    _outcomes_equal(a.outcomes, b.outcomes)
    assert a.record["metrics"] == b.record["metrics"]
    assert b.record["submission"]["kind"] == "jax-exported"
    assert b.record["submission"]["verified"] is True
    assert b.record["submission"]["checkpoint_file"] == "policy.jax_exported"
    assert b.record["submission"]["program"]["platforms"] == ["cpu", "cuda"]


@pytest.mark.slow  # two full zero-shot@v1 runs of the entity transformer (12 levels)
def test_registered_export_eval_cli_records_are_identical(tmp_path, capsys):
    """`kinetix-bench eval` with the real protocol: the registered submission and its export
    give per-level Parquet files with the same scores and records with the same metrics."""
    import pyarrow.parquet as pq

    reg = harness.load_submission("submissions/general-random-s-cpu")
    folder = harness.export_registered(reg, tmp_path / "exported")
    paths = []
    for sub, out in (("submissions/general-random-s-cpu", "a"), (str(folder), "b")):
        argv = ["eval", sub, "--benchmark", BENCH, "--out", str(tmp_path / out), "--no-cache",
                "--bootstrap-reps", "1000", "--json"]  # fmt: skip
        assert main(argv) == 0, capsys.readouterr().err
        paths.append(json.loads(capsys.readouterr().out))
    a, b = (harness.read_record(p["record"]) for p in paths)
    assert a["metrics"] == b["metrics"]
    cols = ["level_hash", "solve_rate", "mean_return", "mean_length", "death_rate"]
    ta, tb = (pq.read_table(p["per_level"]).select(cols) for p in paths)
    assert ta.equals(tb)


def test_fixed_batch_and_logits_score_as_the_symbolic_action_export(tiny, tiny_scored, tmp_path):
    """A fixed batch of 7 (48 envs: padded to 49, in 7 calls) and a program returning logits
    (sampled by the harness as Categorical does) give the symbolic export's outcomes."""
    fixed = harness.export_policy(
        tiny_policy, tiny_params(), TINY_ENV, tmp_path / "fixed", batch_size=7
    )
    logits = harness.export_policy(
        lambda p, o, k: tiny_logits(p, o), tiny_params(), TINY_ENV, tmp_path / "logits",
        output="logits",
    )  # fmt: skip
    assert load_submission(fixed).program.spec.batch_size == 7
    for folder in (fixed, logits):
        res = harness.score(str(folder), BENCH, SMALL, out=tmp_path / "r", cache_dir=None,
                            bootstrap_reps=200)  # fmt: skip
        _outcomes_equal(res.outcomes, tiny_scored.outcomes)


def test_a_recurrent_carry_is_threaded_through_the_episode(tmp_path):
    """A policy whose carry counts steps and whose action depends on it (zeros initial carry,
    no params file): the exported program and evaluate_policy give the same outcomes."""

    def counting(params, obs, key, carry):
        n = carry["n"] + 1.0
        a = jnp.where(jnp.mod(n, 8.0) < 4.0, 9, 10).astype(jnp.int32)  # thruster 0, then 1
        return a, {"n": n}

    init = {"n": np.zeros((), np.float32)}
    folder = harness.export_policy(counting, {}, TINY_ENV, tmp_path / "rnn", initial_carry=init)
    sub = load_submission(folder)
    assert sub.program.spec.carried and sub.program.spec.carry_init == "zeros"
    assert "params.safetensors" not in sub.files
    exp = harness.score(str(folder), BENCH, SMALL, out=tmp_path / "r", cache_dir=None,
                        bootstrap_reps=200)  # fmt: skip
    loc = harness.evaluate_policy(
        counting, {}, BENCH, SMALL, obs_type="flat", action_type="discrete", initial_carry=init,
        name="counting", out=tmp_path / "l", bootstrap_reps=200,
    )  # fmt: skip
    _outcomes_equal(exp.outcomes, loc.outcomes)


def test_evaluate_policy_matches_the_export_and_is_unverified(tiny_scored, tmp_path):
    scored = harness.evaluate_policy(
        tiny_policy, tiny_params(), BENCH, SMALL, obs_type="flat", action_type="discrete",
        name="tiny-local", out=tmp_path, bootstrap_reps=200,
    )  # fmt: skip
    _outcomes_equal(scored.outcomes, tiny_scored.outcomes)
    sub = scored.record["submission"]
    assert sub["verified"] is False and sub["kind"] == "in-process"
    assert sub["checkpoint_file"] == "(in-process)"
    assert scored.record_path.parent.name == "tiny-local"
    assert harness.read_record(scored.record_path)["submission"]["verified"] is False
    with pytest.raises(harness.ProtocolError, match="zero-shot protocols only"):
        harness.evaluate_policy(tiny_policy, tiny_params(), BENCH, "finetune-1e3@v1")


def test_the_leaderboard_keeps_unverified_entries_apart(tiny_scored, tmp_path):
    from harness.leaderboard.markdown import markdown_table
    from harness.leaderboard.page import build_html
    from harness.leaderboard.table import build_table, collect_records

    records = tmp_path / "records"
    harness.score(str(tiny_scored.submission.path), BENCH, SMALL, out=records, cache_dir=None,
                  bootstrap_reps=200)  # fmt: skip
    for name in ("better-local", "tiny-linear"):  # the second shares the verified entry's id
        harness.evaluate_policy(
            tiny_policy, tiny_params(), BENCH, SMALL, obs_type="flat", action_type="discrete",
            name=name, out=records, bootstrap_reps=200,
        )  # fmt: skip
    table = build_table(collect_records([records]))
    assert list(table["verified"]) == [1, 0, 0]  # verified rows first
    assert list(table["rank"]) == [1, 1, 1]  # each pool ranked by itself
    md = markdown_table(table)
    assert md.index("_Unverified_") > md.index("| 1 | 1 | tiny-linear |")
    assert "1 submissions, 2 unverified." in md
    page = build_html(table, None, generated_at="now")
    assert "Unverified entries" in page and "harness.evaluate_policy" in page


def test_cli_export_policy_info_eval_submit_and_queue(tmp_path, capsys, monkeypatch):
    """MODULE:FUNCTION through `submission export-policy`, then `submission info`,
    `submit --dry-run`, `eval`, `submit` (to a folder queue) and `queue run`."""
    import sys

    mod = tmp_path / "my_policy.py"
    mod.write_text(
        "import jax\n"
        "def policy(params, obs, key):\n"
        "    logits = obs @ params['w'] + params['b']\n"
        "    return jax.random.categorical(key, logits).astype('int32')\n"
    )
    from safetensors.numpy import save_file

    save_file(tiny_params(), str(tmp_path / "w.safetensors"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "from-cli"
    argv = ["submission", "export-policy", "my_policy:policy", "--out", str(out),
            "--params", "w.safetensors", "--obs-type", "flat", "--action-type", "discrete",
            "--json"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    rep = json.loads(capsys.readouterr().out)
    assert rep["what"] == "export-policy" and rep["program"]["batch"] == "symbolic"
    sys.modules.pop("my_policy", None)
    assert main(["submission", "info", str(out)]) == 0
    assert "jax-exported" in capsys.readouterr().out
    assert main(["submit", "--dry-run", str(out), "--benchmark", BENCH, "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["ok"] and dry["rollout"]["attempts"] == 2
    records = tmp_path / "records"
    argv = ["eval", str(out), "--benchmark", BENCH, "--out", str(records), "--no-cache",
            "--bootstrap-reps", "200", "--json"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    ev = json.loads(capsys.readouterr().out)
    queue = tmp_path / "requests"
    assert main(["submit", str(out), "--benchmark", BENCH, "--queue", str(queue), "--json"]) == 0
    rid = json.loads(capsys.readouterr().out)["request_id"]
    qrec = tmp_path / "leaderboard" / "records"
    argv = ["queue", "run", "--once", "--queue", str(queue), "--out", str(qrec), "--no-cache",
            "--offline", "--bootstrap-reps", "200", "--json"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    done = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert done["request_id"] == rid and done["status"] == "FINISHED"
    a = harness.read_record(ev["record"])
    b = harness.read_record(done["record"])
    assert a["metrics"] == b["metrics"] and a["result_id"] == b["result_id"]
    assert (tmp_path / "leaderboard" / "README.md").is_file()
    # fine-tuning an exported policy: refused, at submit and by the protocol itself
    argv = ["submit", str(out), "--benchmark", BENCH, "--queue", str(queue),
            "--protocol", "finetune-1e3@v1"]  # fmt: skip
    assert main(argv) == 2
    assert "scored zero-shot only" in capsys.readouterr().err
    argv = ["finetune", str(out), "--benchmark", BENCH, "--budget", "1e3", "--out",
            str(tmp_path / "ft")]  # fmt: skip
    assert main(argv) == 2
    assert "zero-shot only" in capsys.readouterr().err


def test_export_policy_refuses_what_it_cannot_export(tmp_path):
    def calls_back(params, obs, key):
        y = jax.pure_callback(np.asarray, jax.ShapeDtypeStruct(obs.shape, obs.dtype), obs)
        return jnp.argmax(y[:11]).astype(jnp.int32)

    with pytest.raises(SubmissionError, match="jax cannot export it"):
        harness.export_policy(calls_back, {}, TINY_ENV, tmp_path / "cb", batch_size=2)
    assert not (tmp_path / "cb").exists()
    with pytest.raises(SubmissionError, match="out_dir"):
        (tmp_path / "full").mkdir()
        (tmp_path / "full" / "x").write_text("x")
        harness.export_policy(tiny_policy, tiny_params(), TINY_ENV, tmp_path / "full")
    with pytest.raises(SubmissionError, match="expected int32"):
        harness.export_policy(
            lambda p, o, k: tiny_logits(p, o)[:6], tiny_params(), TINY_ENV, tmp_path / "bad"
        )


def test_render_and_rollout_of_an_exported_program(tiny, tmp_path, capsys):
    """GIFs and rollouts of any submission: an exported program too (batch-first engine)."""
    gif = tmp_path / "tiny.gif"
    argv = ["render", "handmade-s/tilt_plate", "--submission", str(tiny), "--out", str(gif),
            "--steps", "5", "--downscale", "10", "--json"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    rep = json.loads(capsys.readouterr().out)
    assert rep["submission"] == "tiny-linear" and rep["frames"] == rep["steps"] + 1 <= 6
    assert gif.read_bytes().startswith(b"GIF8")
    argv = ["env", "rollout", "handmade-s/tilt_plate", "--submission", str(tiny),
            "--episodes", "2", "--json"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["submission"] for r in rows] == ["tiny-linear"] * 2
