"""GIFs of the reference agents on the hand-made levels, within the page budget
(:mod:`harness.leaderboard.gallery_gifs`), and their links on the page's gallery."""

from __future__ import annotations

import pytest

from harness.leaderboard import gallery_gifs
from harness.leaderboard.gallery import check_gallery, render_gallery
from harness.leaderboard.gallery_gifs import hand_made_gifs

BENCH = "handmade-s-v1"  # 12 levels, one size: one rollout program per agent
KW = dict(benchmark=BENCH, submissions=["noop", "random"], max_steps=4, downscale=10)


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    root = tmp_path_factory.mktemp("lb")
    cache = tmp_path_factory.mktemp("gif-cache")
    links = hand_made_gifs(root, budget_bytes=10**9, cache_dir=cache, **KW)
    return root, cache, links


def test_every_agent_on_every_level_when_it_fits(drawn):
    root, cache, links = drawn
    assert len(links) == 12
    for gifs in links.values():
        assert [g["submission_id"] for g in gifs] == ["noop", "random"]
        for g in gifs:
            data = (root / g["href"]).read_bytes()
            assert data.startswith(b"GIF8") and len(data) == g["bytes"]
            assert g["href"].startswith("gifs/") and g["href"].endswith(".gif")
    assert len(list(cache.glob("*.gif"))) == 24


def test_the_budget_keeps_what_fits_and_the_cache_rolls_nothing_out(drawn, monkeypatch):
    root, cache, links = drawn
    sizes = [g["bytes"] for gifs in links.values() for g in gifs]
    budget = sum(sizes[:5]) + 1
    monkeypatch.setattr(gallery_gifs, "_render_gifs", lambda *a, **k: pytest.fail("rendered"))
    kept = hand_made_gifs(root, budget_bytes=budget, cache_dir=cache, **KW)
    total = [g["bytes"] for gifs in kept.values() for g in gifs]
    assert 5 <= len(total) < 24 and sum(total) <= budget
    on_disk = sorted(p.relative_to(root).as_posix() for p in (root / "gifs").rglob("*.gif"))
    assert on_disk == sorted(g["href"] for gifs in kept.values() for g in gifs)  # rest removed
    assert hand_made_gifs(root, budget_bytes=0, cache_dir=cache, **KW) == {}
    assert not list((root / "gifs").rglob("*.gif"))


def test_gallery_cards_link_the_gifs(drawn):
    _, _, links = drawn
    h, gifs = next(iter(links.items()))
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 8 + b"IHDR" + b"\0\0\0\x10\0\0\0\x10"
    item = {"level_id": "handmade-s/a b", "config": "handmade-s", "thumbnail_png": png,
            "level_hash": h, "gifs": gifs}  # fmt: skip
    html = render_gallery(check_gallery([item]))
    for g in gifs:
        assert f'href="{g["href"]}"' in html and f">{g['submission_id']}</a>" in html
    for bad in ("../x.gif", "/abs.gif", "https://x/y.gif", "gifs/x.png"):
        with pytest.raises(ValueError, match=r"gallery\[0\]\.gifs\[0\]"):
            check_gallery([{**item, "gifs": [{"submission_id": "a", "href": bad}]}])


@pytest.mark.slow  # noop on all 50 hand-made levels: three sizes, three rollout programs
def test_leaderboard_build_links_gifs_from_the_page(tmp_path, capsys):
    import shutil
    from pathlib import Path

    from harness.cli import main

    src = Path(__file__).resolve().parents[3] / "leaderboard" / "records"
    shutil.copytree(src, tmp_path / "lb" / "records")
    argv = ["leaderboard", "build", "--root", str(tmp_path / "lb"), "--gifs",
            "--gif-submission", "noop", "--gif-budget", "0.05"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    page = (tmp_path / "lb" / "index.html").read_text(encoding="utf-8")
    gifs = sorted((tmp_path / "lb" / "gifs").rglob("*.gif"))
    assert gifs and sum(p.stat().st_size for p in gifs) <= 0.05 * 2**20
    for p in gifs:
        assert f'href="{p.relative_to(tmp_path / "lb").as_posix()}"' in page
