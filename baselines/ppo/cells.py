"""Many independent PPO runs as ONE program: the update vmapped over cells (PureJaxRL pattern).

A *cell* is one PPO run on one level from one training seed, e.g. one (level, seed, start)
cell of the fine-tuning protocol or of the hand-made calibration. Running cells one after
another leaves the CPU or GPU mostly idle at the protocol's 64 envs; here C cells are stacked on
a leading axis and :func:`jax.vmap` turns C small PPO updates into one wide update, compiled
once, with the cell axis sharded over the devices of a 1-D mesh (axis ``"d"``).

``train_cells(cfg, agent, levels, seeds, params=None, chunk=...)``:

* ``levels``: a stacked batch of C levels (leading axis C, padded to ``cfg.env.size``);
* ``seeds``: (C,) ints, each cell's ``cfg.seed`` (its key is ``PRNGKey(seed)``, exactly as a
  sequential :func:`baselines.ppo.train.train` run with that seed);
* ``params``: one shared ``{"params": ...}`` tree (every cell starts from it: fine-tuning) or
  ``None`` (each cell draws fresh weights from its own key: from scratch);
* returns ``(params, metrics)``: ``params`` with leading axis C (host arrays), ``metrics`` a
  dict of (C, U) host arrays over the U = ``cfg.ppo.num_updates`` updates (the metric rows of
  :mod:`baselines.ppo.update`).

Cells run ``chunk`` at a time (memory: each cell holds its own env batch, rollout, parameters
and Adam state); every chunk has the same width, a multiple of the device count, so one program
serves them all (the last chunk is padded by repeating its last cell; the copies are dropped).
Per-cell results equal a sequential run with the same seed up to float rounding of the batched
matmuls (see ``tests/baselines/test_cells.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from baselines.ppo.config import ConfigError, TrainConfig
from baselines.ppo.update import make_mesh, make_train

__all__ = ["train_cells", "cell_programs"]


_PROGRAMS: dict = {}


def _signature(tree) -> tuple:
    leaves = tuple((tuple(x.shape), str(x.dtype)) for x in jax.tree.leaves(tree))
    return leaves + (str(jax.tree.structure(tree)),)


def cell_programs(cfg: TrainConfig, agent, example_level, mesh: Mesh, shared_params: bool):
    """``(init, update)`` jitted over a cell axis sharded on ``mesh``.

    ``init(keys (C, 2), levels (C, 1, ...), params) -> runner`` (every leaf with leading C;
    ``params`` one shared tree, or per-cell trees with leading C when ``shared_params`` is
    false);
    ``update(runner) -> (runner, metrics (C, K))``, donating the runner. Cached per
    (config, agent, level shapes, mesh, shared_params), so every chunk of a run and every run
    of the same shapes reuses the compiled programs.
    """
    from baselines.ppo.config import config_to_dict

    key = (
        json.dumps(config_to_dict(cfg), sort_keys=True, default=str),
        repr(agent),
        _signature(example_level),
        tuple(d.id for d in mesh.devices.flat),
        shared_params,
    )
    if key in _PROGRAMS:
        return _PROGRAMS[key]
    fns = make_train(cfg, agent, example_level, mesh, constrain=False)
    cells = NamedSharding(mesh, P("d"))
    repl = NamedSharding(mesh, P())

    axis = None if shared_params else 0

    def init(keys, levels, params):
        return jax.vmap(lambda k, lv, p: fns.init_state(k, p, lv), in_axes=(0, 0, axis))(
            keys, levels, params
        )

    init_jit = jax.jit(
        init, in_shardings=(cells, cells, repl if shared_params else cells), out_shardings=cells
    )
    update_jit = jax.jit(
        jax.vmap(fns.update), in_shardings=(cells,), out_shardings=(cells, cells), donate_argnums=0
    )
    _PROGRAMS[key] = (init_jit, update_jit)
    return init_jit, update_jit


def _fresh_params(agent, keys):
    """Each cell's fresh weights, drawn from its key exactly as ``init_state`` would.

    One jitted ``agent.init`` per cell, stacked, rather than ``vmap(agent.init)``: on jaxlib
    0.10 (XLA:CPU) a program holding more than about 8 batched QR decompositions (the orthogonal
    initialisers) never finishes (every thread parks on a futex; repro: 16 vmapped
    ``orthogonal()`` draws of 64x64 under one ``jit``).
    """
    init = jax.jit(agent.init)
    trees = [init(jax.random.split(k, 3)[0]) for k in keys]
    return jax.tree.map(lambda *xs: jnp.stack(xs), *trees)


def _take(tree, idx):
    return jax.tree.map(lambda x: np.asarray(x)[idx], tree)


def train_cells(
    cfg: TrainConfig,
    agent,
    levels,
    seeds,
    params=None,
    *,
    chunk: int = 32,
    mesh: Mesh | None = None,
    progress: Callable[[int], None] | None = None,
):
    """Trains C independent cells (see the module doc); ``progress(n)`` after each chunk."""
    seeds = np.asarray(seeds, np.int64).reshape(-1)
    n_cells = int(seeds.shape[0])
    if int(levels.polygon_roles.shape[0]) != n_cells:
        raise ConfigError(
            f"levels: {int(levels.polygon_roles.shape[0])} levels for {n_cells} seeds (one each)"
        )
    if cfg.levels.sfl.enabled:
        raise ConfigError("levels.sfl.enabled: a cell trains on one level; SFL needs a pool")
    if chunk < 1:
        raise ConfigError(f"chunk: must be >= 1, got {chunk}")
    mesh = make_mesh() if mesh is None else mesh
    n_dev = mesh.devices.size
    host = jax.tree.map(np.asarray, levels)
    example = jax.tree.map(lambda x: x[:1], host)
    init, update = cell_programs(cfg, agent, example, mesh, params is not None)
    num_updates = cfg.ppo.num_updates
    k = cfg.logging.log_every
    if num_updates % k:
        raise ConfigError(
            f"logging.log_every: {k} does not divide the {num_updates} updates of a cell"
        )
    # every chunk has the same width (one compiled program): a multiple of the device count,
    # the last chunk padded by repeating its last cell
    width = -(-min(chunk, n_cells) // n_dev) * n_dev
    out_params, out_metrics = [], []
    for start in range(0, n_cells, chunk):
        idx = np.arange(start, min(start + chunk, n_cells))
        run = np.concatenate([idx, np.full(width - len(idx), idx[-1])])
        keys = jnp.stack([jax.random.PRNGKey(int(s)) for s in seeds[run]])
        cell_levels = _take(host, run)
        cell_levels = jax.tree.map(lambda x: x[:, None], cell_levels)  # (w, 1, ...) pools of one
        start_params = params if params is not None else _fresh_params(agent, keys)
        runner = init(keys, cell_levels, start_params)
        rows = []
        done = 0
        while done < num_updates:
            runner, m = update(runner)
            rows.append(jax.device_get(m))
            done += k
        metrics = {name: np.concatenate([r[name] for r in rows], axis=1) for name in rows[0]}
        keep = slice(0, len(idx))
        out_params.append(_take(jax.device_get(runner.params), keep))
        out_metrics.append({name: v[keep, :num_updates] for name, v in metrics.items()})
        if progress is not None:
            progress(len(idx))
    params_all = jax.tree.map(lambda *xs: np.concatenate(xs), *out_params)
    metrics_all = {name: np.concatenate([m[name] for m in out_metrics]) for name in out_metrics[0]}
    return params_all, metrics_all
