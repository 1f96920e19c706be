"""harness.levels.recipes: parsing a recipe, its errors (each names the field), hand-made
releases and paths relative to the recipe file."""

from __future__ import annotations

import dataclasses

import pytest

from harness.levels.recipes import RecipeError, load_recipe, parse_recipe


def _base() -> dict:
    return {
        "name": "x",
        "version": "1.0.0",
        "configs": [
            {"name": "handmade-s", "source": "handmade", "size": "s", "splits": {"test": {}}},
            {
                "name": "random-s",
                "source": "random",
                "size": "s",
                "splits": {"test": {"count": 3, "seed": 1}},
            },
        ],
    }


def test_recipe_parses(recipe_file):
    r = load_recipe(recipe_file)
    assert r.source_file == "tiny.toml" and r.shard_rows == 5 and r.version == "1.2.3"
    assert [c.name for c in r.configs] == ["handmade-s", "random-s"]
    rnd = r.configs[1]
    assert rnd.filter == "noop" and rnd.random_episodes == 0
    assert [(s.name, s.count, s.seed) for s in rnd.splits] == [
        ("validation", 12, 1),
        ("test", 8, 2),
    ]
    base = parse_recipe(_base())
    assert base.shard_rows == 50_000 and base.configs[0].random_episodes == 64
    assert base.configs[1].filter == "none"


def _set(path: str, value):
    def edit(d):
        keys = path.split(".")
        for k in keys[:-1]:
            d = d[int(k)] if isinstance(d, list) else d[k]
        if value is _DELETE:
            del d[keys[-1]]
        else:
            d[keys[-1]] = value

    return edit


_DELETE = object()


@pytest.mark.parametrize(
    "edit, match",
    [
        (_set("configs.0.colour", "red"), r"configs\[0\]: unknown keys \['colour'\]"),
        (_set("extra", 1), r"recipe: unknown keys \['extra'\]"),
        (_set("configs.0.size", "xl"), r"configs\[0\]\.size: must be one of"),
        (_set("configs.1.size", 3), r"configs\[1\]\.size: must be a string"),
        (_set("configs.0.filter", "noop"), r"configs\[0\]\.filter: only random"),
        (_set("configs.1.filter", "strict"), r"configs\[1\]\.filter: must be one of"),
        (_set("configs.1.name", "handmade-s"), r"configs\[1\]\.name: duplicate config"),
        (_set("configs.1.name", "Random S"), r"configs\[1\]\.name: .* does not match"),
        (
            _set("configs.1.splits", {"a": {"count": 1, "seed": 5}, "b": {"count": 2, "seed": 5}}),
            r"configs\[1\]\.splits: two splits share a seed",
        ),
        (_set("configs.1.splits.test.count", 0), r"configs\[1\]\.splits\.test\.count: must be"),
        (_set("configs.1.splits.test.seed", -1), r"configs\[1\]\.splits\.test\.seed: must be"),
        (_set("configs.1.splits.test.seed", _DELETE), r"configs\[1\]\.splits\.test\.seed"),
        (_set("configs.0.splits.test", {"count": 3}), r"configs\[0\]\.splits\.test: unknown"),
        (
            _set("configs.0.splits", {"a": {}, "b": {}}),
            r"configs\[0\]\.splits: handmade configs have exactly one split",
        ),
        (_set("configs.0.splits", {}), r"configs\[0\]\.splits: must be a non-empty"),
        (_set("configs.0.random_episodes", True), r"configs\[0\]\.random_episodes: must be"),
        (_set("configs.0.random_episodes", 5000), r"configs\[0\]\.random_episodes: must be <="),
        (_set("configs.0.path", "/x"), r"configs\[0\]\.path: only kinetix"),
        (_set("configs.0.release", "v9"), r"configs\[0\]\.release: must be one of v1, v2"),
        (_set("configs.1.release", "v2"), r"configs\[1\]\.release: only handmade"),
        (_set("configs.0.source", "web"), r"configs\[0\]\.source: must be one of"),
        (_set("version", "1.0"), r"version: '1\.0' does not match"),
        (_set("version", "v1.0.0"), r"version: 'v1\.0\.0' does not match"),
        (_set("shard_rows", 0), r"shard_rows: must be an integer >= 1"),
        (_set("configs", []), r"configs: must be a non-empty array"),
        (_set("name", _DELETE), r"name: must be a string"),
    ],
)
def test_recipe_errors(edit, match):
    data = _base()
    edit(data)
    with pytest.raises(RecipeError, match=match):
        parse_recipe(data)


def test_handmade_release(monkeypatch):
    """``release`` picks the hand-made release's levels; v1 recipes serialise without the key
    (so v1 builds keep their bytes) and a level outside the release is left out."""
    import kinetix.handmade as hm
    from kinetix.authoring import AuthoringError
    from kinetix.handmade import registry
    from kinetix.hashing import level_hash

    base = parse_recipe(_base())
    assert base.configs[0].release is None and "release" not in base.configs[0].to_json()
    data = _base()
    data["configs"][0]["release"] = "v2"
    v2 = parse_recipe(data).configs[0]
    assert v2.release == "v2" and v2.to_json()["release"] == "v2"

    v1_ids = [e.id for e, _, _ in hm.certified_levels("s", release="v1")]
    assert v1_ids == [e.id for e, _, _ in hm.certified_levels("s") if "v1" in e.releases]
    # a v2-only level with a valid witness joins v2 and every-release views, never v1
    entry = hm.REGISTRY[v1_ids[0]]
    clone = dataclasses.replace(entry, name=entry.name + "_v2only", releases=("v2",))
    monkeypatch.setitem(registry.REGISTRY, clone.id, clone)
    store = dict(hm.load_witnesses())
    store[clone.id] = {**store[entry.id], "level_hash": level_hash(clone.build())}
    monkeypatch.setattr("kinetix.handmade.witnesses.load_witnesses", lambda path=None: store)
    assert clone.id not in [e.id for e, _, _ in hm.certified_levels("s", release="v1")]
    assert clone.id in [e.id for e, _, _ in hm.certified_levels("s", release="v2")]
    assert clone.id in [e.id for e, _, _ in hm.certified_levels("s")]
    with pytest.raises(AuthoringError, match="releases must be a non-empty subset"):
        registry.register(dataclasses.replace(entry, name="x_bad", releases=("v3",)))


def test_kinetix_path_is_relative_to_the_recipe(tmp_path):
    data = _base()
    data["configs"].append(
        {"name": "kinetix-l", "source": "kinetix", "size": "l", "path": "lv", "splits": {"t": {}}}
    )
    r = parse_recipe(data, base_dir=tmp_path)
    assert r.configs[2].path == str(tmp_path / "lv")
    data["configs"][2].pop("path")
    with pytest.raises(RecipeError, match=r"configs\[2\]\.path: must be a string"):
        parse_recipe(data)


def test_load_recipe_errors(recipe_file, tmp_path):
    with pytest.raises(RecipeError, match="no such recipe file"):
        load_recipe(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nversion = \n')
    with pytest.raises(RecipeError, match="bad.toml: not valid TOML"):
        load_recipe(bad)
    wrong = tmp_path / "wrong.toml"
    text = recipe_file.read_text()
    wrong.write_text(text.replace('size = "s"\nrandom_episodes', 'size = "q"\nrandom_episodes'))
    with pytest.raises(RecipeError, match=r"wrong.toml: configs\[0\]\.size"):
        load_recipe(wrong)
