"""Puzzle levels: levers, catapults, mazes, obstacles and red hazards."""

from __future__ import annotations

from kinetix.handmade.registry import level

F = "puzzles"


@level(
    "s",
    "knock_off_perch",
    family=F,
    difficulty="easy",
    description="A thruster box sits on a perch; push it off so it falls onto the blue floor.",
)
def _(b):
    b.floor("blue")
    b.circle((2.5, 1.2), 0.8, static=True)
    box = b.rect((2.5, 2.15), 0.3, 0.3, role="green")
    b.thruster(box, angle=180, power=0.25)


@level(
    "s",
    "green_floor_drop",
    family=F,
    difficulty="easy",
    description="The floor is green: fire the blue ball's thruster to drop it from its ledge.",
)
def _(b):
    b.floor("green")
    b.rect((1.0, 2.5), 1.6, 0.2, static=True)
    ball = b.circle((0.9, 2.8), 0.2, role="blue")
    b.thruster(ball, angle=0, power=0.15)


@level(
    "s",
    "red_ceiling_hop",
    family=F,
    difficulty="medium",
    description="Hop over a red ball on the floor to reach blue, without hitting the red ball.",
    releases=("v1", "v2"),
)
def _(b):
    box = b.rect((0.7, 0.55), 0.3, 0.3, role="green")
    b.thruster(box, angle=50, power=0.35)
    b.circle((2.4, 0.8), 0.4, role="red", static=True)
    b.circle((3.6, 0.6), 0.2, role="blue", static=True)


@level(
    "m",
    "catapult",
    family=F,
    difficulty="medium",
    description="Flick a motorised arm to launch the green ball onto the high blue shelf.",
    releases=("v1", "v2"),
)
def _(b):
    base = b.circle((1.0, 0.8), 0.12, static=True)
    arm = b.rect((1.5, 0.85), 1.2, 0.1)
    b.hinge(base, arm, (1.0, 0.8), binding=0, speed=2.0, power=3.0, limits=(-5, 80))
    b.circle((1.95, 1.08), 0.15, role="green", density=0.5)
    b.rect((4.2, 2.8), 1.2, 0.2, role="blue", static=True)


@level(
    "m",
    "lever_roll_back",
    family=F,
    difficulty="medium",
    description="Raise a lever resting on a post so the green ball rolls back over the pivot onto blue.",  # noqa: E501
)
def _(b):
    pivot = b.circle((1.5, 2.0), 0.08, static=True)
    lever = b.rect((2.3, 2.0), 1.8, 0.1)
    b.hinge(pivot, lever, (1.5, 2.0), binding=2, speed=0.5, limits=(-5, 25))
    b.rect((3.0, 1.5), 0.2, 0.9, static=True)
    b.circle((2.8, 2.2), 0.15, role="green")
    b.circle((0.6, 0.6), 0.2, role="blue", static=True)


@level(
    "m",
    "red_corridor",
    family=F,
    difficulty="hard",
    description="Fly a ball along a corridor with a red roof and a red floor to the blue exit.",
    releases=("v1", "v2"),
)
def _(b):
    b.floor("red")
    b.rect((0.6, 1.2), 1.0, 0.15, static=True)
    ball = b.circle((0.6, 1.45), 0.15, role="green")
    b.thruster(ball, angle=90, power=0.18, binding=0)
    b.thruster(ball, angle=0, power=0.08, binding=1)
    b.rect((2.7, 3.2), 3.4, 0.2, role="red", static=True)
    b.circle((4.5, 1.8), 0.3, role="blue", static=True)


@level(
    "l",
    "maze_two_turns",
    family=F,
    difficulty="medium",
    description="Fly a thruster ball up, left under a shelf and up again to the blue ball in the top-left corner.",  # noqa: E501
    releases=("v1", "v2"),
)
def _(b):
    ball = b.circle((4.5, 0.6), 0.18, role="green")
    b.thruster(ball, angle=90, power=0.2, binding=0)
    b.thruster(ball, angle=180, power=0.1, binding=1)
    b.rect((1.8, 1.6), 3.6, 0.15, static=True)  # leaves a gap on the right
    b.rect((3.2, 3.0), 3.6, 0.15, static=True)  # leaves a gap on the left
    b.circle((0.5, 4.5), 0.3, role="blue", static=True)


@level(
    "l",
    "maze_red_walls",
    family=F,
    difficulty="hard",
    description="A maze whose inner walls are red: thread the green ball through without touching them.",  # noqa: E501
    releases=("v1", "v2"),
)
def _(b):
    ball = b.circle((0.5, 0.6), 0.18, role="green")
    b.thruster(ball, angle=90, power=0.2, binding=0)
    b.thruster(ball, angle=0, power=0.1, binding=1)
    b.rect((2.0, 1.8), 0.15, 2.8, role="red", static=True)
    b.rect((3.4, 3.2), 0.15, 3.6, role="red", static=True)
    b.circle((4.5, 0.8), 0.3, role="blue", static=True)


@level(
    "l",
    "domino_chain",
    family=F,
    difficulty="medium",
    description="Topple a row of grey dominoes with a thruster push so the last one knocks the green ball onto blue.",  # noqa: E501
    releases=("v1", "v2"),
)
def _(b):
    pusher = b.rect((0.5, 0.6), 0.2, 0.4)
    b.thruster(pusher, angle=0, power=0.4, binding=0)
    for k in range(4):
        b.rect((1.2 + 0.55 * k, 0.85), 0.12, 0.9, friction=0.6)
    b.rect((3.55, 1.3), 0.5, 0.1, static=True)
    b.circle((3.55, 1.53), 0.13, role="green")
    b.circle((4.5, 0.6), 0.2, role="blue", static=True)


@level(
    "l",
    "lever_launch",
    family=F,
    difficulty="medium",
    description="Push a weight off its shelf onto a free lever so the green ball on the other end flies to the blue shelf.",  # noqa: E501
    releases=("v1", "v2"),
)
def _(b):
    b.polygon((2.0, 0.4), [(-0.3, 0.0), (0.3, 0.0), (0.0, 0.5)], static=True)
    pin = b.circle((2.0, 0.9), 0.05, static=True)
    plank = b.rect((2.0, 0.95), 2.8, 0.1)
    b.hinge(pin, plank, (2.0, 0.9), motor=False)
    b.circle((0.8, 1.2), 0.15, role="green", density=0.4)
    b.rect((4.0, 3.2), 1.2, 0.1, static=True)
    weight = b.rect((4.0, 3.45), 0.4, 0.4, density=5.0)
    b.thruster(weight, angle=180, power=1.2, binding=0)
    b.thruster(weight, angle=-90, power=1.0, binding=1)
    b.rect((0.6, 3.6), 1.0, 0.2, role="blue", static=True)


@level(
    "l",
    "red_spike_field",
    family=F,
    difficulty="medium",
    description="Drive a high-cabbed car over two red spikes to the blue wall without its green cab touching them.",  # noqa: E501
    releases=("v1", "v2"),
)
def _(b):
    body = b.rect((0.9, 0.95), 1.2, 0.18, role="green")  # a high cab on long axles
    for dx in (-0.3, 0.3):
        w = b.circle((0.9 + dx, 0.6), 0.2)
        b.hinge(body, w, (0.9 + dx, 0.6), binding=1, speed=1.0)
    b.polygon((2.3, 0.4), [(-0.15, 0.0), (0.15, 0.0), (0.0, 0.25)], role="red", static=True)
    b.polygon((3.1, 0.4), [(-0.15, 0.0), (0.15, 0.0), (0.0, 0.25)], role="red", static=True)
    b.rect((4.6, 1.2), 0.3, 1.6, role="blue", static=True)


@level(
    "s",
    "short_hop_over_red",
    family=F,
    difficulty="medium",
    description="A short, cut-off hop clears the red ball and lands on the blue ball right behind it.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    box = b.rect((0.7, 0.55), 0.3, 0.3, role="green")
    b.thruster(box, angle=50, power=0.35)
    b.circle((1.9, 0.7), 0.3, role="red", static=True)
    b.circle((2.9, 0.6), 0.2, role="blue", static=True)


@level(
    "s",
    "jet_board_flip",
    family=F,
    difficulty="medium",
    description="An off-centre thruster tips a board over a red floor: a short kick flips its loose green ball up onto the blue ball.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.floor("red")
    board = b.rect((3.0, 0.6), 1.0, 0.2)
    b.thruster(board, angle=90, power=0.6, at=(0.4, 0))
    b.circle((3.0, 0.85), 0.15, role="green")
    b.circle((1.2, 2.4), 0.3, role="blue", static=True)


@level(
    "m",
    "around_the_shelf",
    family=F,
    difficulty="medium",
    description="Fly a two-jet box out from under a long shelf, up past its end, then back left onto it to touch the blue ball on top.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.rect((1.6, 2.2), 3.2, 0.15, static=True)
    box = b.rect((0.8, 0.55), 0.3, 0.3, role="green", friction=0.3)
    b.thruster(box, angle=60, power=0.35, binding=0)
    b.thruster(box, angle=120, power=0.35, binding=1)
    b.circle((0.6, 2.5), 0.15, role="blue", static=True)


@level(
    "m",
    "pinball_flipper",
    family=F,
    difficulty="hard",
    description="A ball rolls down a chute onto a flipper over a red floor; flick the flipper just as the ball reaches its tip to bat it up to the blue ball on the right.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.floor("red")
    b.polygon((0, 0), [(0.0, 2.4), (0.0, 1.7), (1.9, 1.0)], static=True)
    pivot = b.circle((2.75, 1.0), 0.06, static=True)
    flipper = b.rect((2.3, 1.0), 0.9, 0.1, friction=0.4)
    b.hinge(pivot, flipper, (2.75, 1.0), binding=0, speed=4.0, power=1.0, limits=(-35, 25))
    b.circle((0.3, 2.45), 0.12, role="green")
    b.circle((4.3, 3.4), 0.2, role="blue", static=True)
