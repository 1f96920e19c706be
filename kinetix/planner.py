"""Witness search: the cross-entropy method (CEM) over open-loop MultiDiscrete action sequences.

A *witness* for a level is an int8 action sequence ``(T, 6)`` (``T <= 256``; 4 motor
sub-actions in {0, 1 (+1), 2 (-1)}, then 2 thruster sub-actions in {0, 1}) that solves the level
when replayed from its start state in the env's default configuration (physics setting
``default``, the level's own size). Steps after the episode ends do not matter.

The search samples a population of sequences from independent categorical distributions, one
per decision and sub-action (one decision holds for ``repeat`` agent steps), rolls them all out
in one jitted, vmapped program, and refits the distributions to the elite fraction. Sub-actions
that drive nothing in the level (no motor joint or thruster bound to them) stay 0. Scores rank
solved rollouts first (earlier is better), then the episode return plus a bonus for the closest
green-blue approach (dense shaping). Everything is deterministic given the seed.

:func:`replay_outcomes` replays witnesses (padded to 256 steps) for a batch of levels in one
program: the check used by ``kinetix-bench levels certify`` and the tests.
:func:`witness_robustness` is the share of random one-step edits of a witness that still solve:
a witness that balances on a knife edge (near 0) may fail on a host whose floating-point
rounding differs (another vector width), so ``levels certify`` keeps searching for a robust one.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from kinetix.env import EnvConfig, KinetixEnv
from kinetix.errors import LevelError
from kinetix.level import Level
from kinetix.sizes import NUM_MOTOR_BINDINGS, NUM_THRUSTER_BINDINGS

__all__ = [
    "CEMConfig",
    "WitnessError",
    "MAX_STEPS",
    "NUM_SUBACTIONS",
    "check_witness",
    "pad_witness",
    "used_subactions",
    "rollout_outcome",
    "replay_outcomes",
    "cem_search",
    "witness_edits",
    "witness_robustness",
    "witness_scenes",
]

MAX_STEPS = 256
NUM_SUBACTIONS = NUM_MOTOR_BINDINGS + NUM_THRUSTER_BINDINGS  # 6
_CHOICES = np.array([3] * NUM_MOTOR_BINDINGS + [2] * NUM_THRUSTER_BINDINGS)


class WitnessError(LevelError):
    """A witness has the wrong shape, length, dtype or values."""


def check_witness(actions, what: str = "witness") -> np.ndarray:
    """Validates a witness and returns it as int8 ``(T, 6)``.

    Raises :class:`WitnessError` for a wrong shape or length (``1 <= T <= 256``), a non-integer
    dtype (a witness is MultiDiscrete, not continuous or Discrete), or out-of-range values.
    """
    a = np.asarray(actions)
    if a.ndim != 2 or a.shape[1] != NUM_SUBACTIONS:
        raise WitnessError(
            f"{what}: expected a MultiDiscrete action sequence of shape (T, {NUM_SUBACTIONS}), "
            f"got shape {a.shape}"
        )
    if not 1 <= a.shape[0] <= MAX_STEPS:
        raise WitnessError(f"{what}: length must be 1..{MAX_STEPS} steps, got {a.shape[0]}")
    if a.dtype == bool or not np.issubdtype(a.dtype, np.integer):
        raise WitnessError(
            f"{what}: action type must be integer MultiDiscrete (int8), got dtype {a.dtype}"
        )
    bad = (a < 0) | (a >= _CHOICES[None, :])
    if np.any(bad):
        t, k = np.argwhere(bad)[0]
        raise WitnessError(
            f"{what}[{t}][{k}]: sub-action {k} must be in 0..{_CHOICES[k] - 1}, got {a[t, k]}"
        )
    return a.astype(np.int8)


def pad_witness(actions, steps: int = MAX_STEPS) -> np.ndarray:
    """A checked witness padded with no-op rows to ``steps`` rows (int8 ``(steps, 6)``)."""
    a = check_witness(actions)
    out = np.zeros((steps, NUM_SUBACTIONS), np.int8)
    out[: a.shape[0]] = a
    return out


def used_subactions(level: Level) -> np.ndarray:
    """bool (6,): which sub-actions drive something (an active motor joint or thruster)."""
    sc = level.scene
    used = np.zeros(NUM_SUBACTIONS, bool)
    j_on = (
        np.asarray(sc.joint.active) & np.asarray(sc.joint.motor_on) & ~np.asarray(sc.joint.is_fixed)
    )
    for b in np.asarray(level.motor_bindings)[j_on]:
        used[int(b)] = True
    for b in np.asarray(level.thruster_bindings)[np.asarray(sc.thruster.active)]:
        used[NUM_MOTOR_BINDINGS + int(b)] = True
    return used


def rollout_outcome(env: KinetixEnv, level: Level, actions) -> dict[str, jax.Array]:
    """First-episode outcome of a fixed ``(T, 6)`` action sequence (jit-/vmap-able).

    Returns scalars ``solved``, ``died``, ``length`` (agent steps until done; T + 1 if not),
    ``return`` and ``min_distance`` (closest green-blue distance seen).
    """
    _, state = env.reset(jax.random.PRNGKey(0), level)
    key = jax.random.PRNGKey(0)

    def body(carry, action):
        state, alive, out = carry
        _, state, reward, done, info = env.step(key, state, action)
        ended = alive & done
        out = {
            "return": out["return"] + jnp.where(alive, reward, 0.0),
            "solved": out["solved"] | (ended & info["solved"]),
            "died": out["died"] | (ended & info["died"]),
            "length": jnp.where(ended, info["episode_length"], out["length"]),
            "min_distance": jnp.where(
                alive, jnp.minimum(out["min_distance"], info["distance"]), out["min_distance"]
            ),
        }
        return (state, alive & ~done, out), None

    T = actions.shape[0]
    out0 = {
        "return": jnp.float32(0.0),
        "solved": jnp.bool_(False),
        "died": jnp.bool_(False),
        "length": jnp.int32(T + 1),
        "min_distance": jnp.float32(jnp.inf),
    }
    (_, _, out), _ = jax.lax.scan(body, (state, jnp.bool_(True), out0), actions)
    return out


def _env(size) -> KinetixEnv:
    return KinetixEnv(EnvConfig(size=size))


@functools.cache
def _replay_fn(size):
    env = _env(size)
    return jax.jit(jax.vmap(lambda lv, a: rollout_outcome(env, lv, a)))


def replay_outcomes(levels: Level, witnesses) -> dict[str, np.ndarray]:
    """Replays one witness per level, batched: ``levels`` stacked (leading axis = level, one
    size), ``witnesses`` a list of ``(T_i, 6)`` sequences (each padded to 256 steps; use the
    no-op ``np.zeros((1, 6), np.int8)`` for the no-op policy). One jitted program per size.

    Returns numpy arrays (one entry per level) of :func:`rollout_outcome`'s fields.
    """
    acts = np.stack([pad_witness(w) for w in witnesses])
    n = int(np.shape(levels.polygon_roles)[0])
    if acts.shape[0] != n:
        raise WitnessError(f"{n} levels but {acts.shape[0]} witnesses")
    out = _replay_fn(levels.size)(levels, jnp.asarray(acts, jnp.int32))
    return {k: np.asarray(v) for k, v in out.items()}


@dataclasses.dataclass(frozen=True)
class CEMConfig:
    """CEM settings.

    Attributes:
        population: sequences sampled per iteration.
        iterations: maximum iterations (the search stops at the first solving sequence).
        elite_frac: share of the population the distribution is refit to.
        repeat: agent steps per decision (256 / repeat decisions per sequence).
        smoothing: weight of the old distribution in each refit.
        min_prob: floor on every valid choice's probability (keeps exploring).
        noop_prior: initial probability of the 0 (no-op) choice of every used sub-action.
        seed: PRNG seed (the search is deterministic given it).
    """

    population: int = 256
    iterations: int = 30
    elite_frac: float = 0.1
    repeat: int = 8
    smoothing: float = 0.2
    min_prob: float = 0.03
    noop_prior: float = 0.34
    seed: int = 0

    @property
    def decisions(self) -> int:
        return -(-MAX_STEPS // self.repeat)


@functools.cache
def _cem_program(size, population: int, decisions: int, repeat: int):
    env = _env(size)

    def sample(key, logits):
        # logits: (D, 6, 3) -> actions (population, D*repeat, 6)
        choice = jax.random.categorical(key, logits, axis=-1, shape=(population, decisions, 6))
        return jnp.repeat(choice, repeat, axis=1)[:, :MAX_STEPS].astype(jnp.int32), choice

    def evaluate(level, key, logits):
        acts, choice = sample(key, logits)
        out = jax.vmap(lambda a: rollout_outcome(env, level, a))(acts)
        score = jnp.where(
            out["solved"],
            1000.0 - out["length"].astype(jnp.float32),
            out["return"] - out["min_distance"] - 5.0 * out["died"],
        )
        return choice, score, out

    return jax.jit(evaluate)


def cem_search(level: Level, config: CEMConfig = CEMConfig(), *, log=None) -> dict:
    """Searches a witness for ``level`` (one level, its own size).

    Returns a dict: ``witness`` (int8 ``(T, 6)`` trimmed to the solving episode, or None),
    ``solved``, ``iterations``, ``rollouts``, ``seconds``, ``best_score``, ``length``.
    """
    used = used_subactions(level)
    D = config.decisions
    valid = np.zeros((6, 3), bool)
    valid[:, 0] = True
    for k in range(6):
        if used[k]:
            valid[k, : _CHOICES[k]] = True
    probs = np.where(valid, 1.0, 0.0)
    for k in range(6):
        if used[k]:
            n = _CHOICES[k]
            probs[k, 0] = config.noop_prior
            probs[k, 1:n] = (1 - config.noop_prior) / (n - 1)
    probs = np.broadcast_to(probs, (D, 6, 3)).copy()
    fn = _cem_program(level.size, config.population, D, config.repeat)
    key = jax.random.PRNGKey(config.seed)
    n_elite = max(1, int(round(config.elite_frac * config.population)))
    t0 = time.perf_counter()
    best = {"score": -np.inf}
    it = 0
    for it in range(1, config.iterations + 1):
        key, k = jax.random.split(key)
        logits = np.where(valid[None], np.log(np.maximum(probs, 1e-12)), -1e9)
        choice, score, out = jax.device_get(fn(level, k, jnp.asarray(logits, jnp.float32)))
        order = np.argsort(-score, kind="stable")
        top = order[0]
        if score[top] > best["score"]:
            best = {
                "score": float(score[top]),
                "choice": choice[top],
                "solved": bool(out["solved"][top]),
                "length": int(out["length"][top]),
            }
        if log is not None:
            log(
                f"  iter {it}: best {score[top]:.3f} solved {int(out['solved'].sum())}"
                f"/{config.population} min_dist {float(out['min_distance'].min()):.3f}"
            )
        if best["solved"]:
            break
        elite = choice[order[:n_elite]]  # (E, D, 6)
        freq = np.stack([(elite == c).mean(0) for c in range(3)], axis=-1)
        new = (1 - config.smoothing) * freq + config.smoothing * probs
        new = np.where(valid[None], np.maximum(new, config.min_prob), 0.0)
        probs = new / new.sum(-1, keepdims=True)
    seconds = time.perf_counter() - t0
    witness = None
    if best.get("solved"):
        acts = np.repeat(best["choice"], config.repeat, axis=0)[:MAX_STEPS]
        witness = acts[: best["length"]].astype(np.int8)
    return {
        "witness": witness,
        "solved": witness is not None,
        "iterations": it,
        "rollouts": it * config.population,
        "seconds": seconds,
        "best_score": best["score"],
        "length": best.get("length"),
    }


def witness_edits(level: Level, actions, edits: int = 16, seed: int = 0, length=None):
    """``edits`` one-step edits of a witness, int8 ``(edits, T, 6)``: each changes one used
    sub-action (:func:`used_subactions`) at one step ``t < length`` (default: the witness's
    length ``T``; pass the episode's length, since steps after it ends change nothing) to
    another of its values, drawn with ``np.random.default_rng(seed)``."""
    a = check_witness(actions)
    used = np.flatnonzero(used_subactions(level))
    if used.size == 0:
        raise WitnessError("witness_edits: the level has no motor or thruster to edit")
    horizon = a.shape[0] if length is None else max(1, min(int(length), a.shape[0]))
    rng = np.random.default_rng(seed)
    out = np.repeat(a[None], edits, axis=0)
    for e in range(edits):
        t, k = int(rng.integers(horizon)), int(rng.choice(used))
        others = [v for v in range(_CHOICES[k]) if v != a[t, k]]
        out[e, t, k] = others[int(rng.integers(len(others)))]
    return out


def witness_robustness(level: Level, actions, edits: int = 16, seed: int = 0) -> float:
    """Share of :func:`witness_edits` (one-step edits within the solved episode) that still
    solve the level, in [0, 1]; 0.0 when the witness itself does not solve it. One batched
    replay of ``edits + 1`` sequences."""
    from kinetix.level import stack_levels

    a = check_witness(actions)
    base = replay_outcomes(stack_levels([level]), [a])
    if not bool(base["solved"][0]):
        return 0.0
    variants = witness_edits(level, a, edits, seed, length=int(base["length"][0]))
    out = replay_outcomes(stack_levels([level] * edits), list(variants))
    return float(np.mean(out["solved"]))


def witness_scenes(level: Level, actions):
    """Scenes of a witness replay until its first episode ends (for GIFs): a stacked scene
    pytree (start + one per step) and a summary dict (``steps``, ``solved``, ``died``).
    Runs the same vmapped step as :func:`replay_outcomes` (a batch of one)."""
    import dataclasses as dc

    acts = jnp.asarray(pad_witness(actions), jnp.int32)
    env = KinetixEnv(dc.replace(EnvConfig(size=level.size), auto_reset=False))

    def run(lv, a):
        _, state = env.reset(jax.random.PRNGKey(0), lv)

        def body(state, action):
            _, s2, _, done, info = env.step(jax.random.PRNGKey(0), state, action)
            return s2, (s2.scene, done, info["solved"], info["died"])

        _, out = jax.lax.scan(body, state, a)
        return out

    from kinetix.level import stack_levels

    scenes, done, solved, died = jax.device_get(
        jax.jit(jax.vmap(run))(stack_levels([level]), acts[None])
    )
    done = np.asarray(done[0])
    steps = int(np.argmax(done)) + 1 if done.any() else MAX_STEPS
    first = jax.tree.map(lambda x: np.asarray(x)[None], level.scene)
    scenes = jax.tree.map(
        lambda s0, s: np.concatenate([s0, np.asarray(s)[0, :steps]]), first, scenes
    )
    summary = {
        "steps": steps,
        "solved": bool(done.any() and solved[0][steps - 1]),
        "died": bool(done.any() and died[0][steps - 1]),
    }
    return scenes, summary
