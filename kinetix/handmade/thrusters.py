"""Thruster levels: aim, lift, hover and land."""

from __future__ import annotations

from kinetix.handmade.registry import level

F = "thrusters"


@level(
    "s",
    "thrust_over_boulder",
    family=F,
    difficulty="easy",
    description="A box with a slanted thruster hops over a boulder onto the blue ball.",
)
def _(b):
    box = b.rect((0.6, 0.55), 0.3, 0.3, role="green", density=2.0)
    b.thruster(box, angle=55, power=0.6)
    b.circle((2.5, 0.4), 0.7, static=True)
    b.circle((4.3, 0.65), 0.25, role="blue", static=True)


@level(
    "s",
    "lift_to_shelf",
    family=F,
    difficulty="easy",
    description="Lift a ball with a weak upward thruster onto the blue shelf high above.",
)
def _(b):
    ball = b.circle((1.2, 0.6), 0.2, role="green")
    b.thruster(ball, angle=90, power=0.18)
    b.rect((1.9, 4.2), 1.6, 0.2, role="blue", static=True)


@level(
    "s",
    "hover_over_red",
    family=F,
    difficulty="medium",
    description="Start on a perch above a red floor and fly sideways to the blue ball without falling.",  # noqa: E501
)
def _(b):
    b.floor("red")
    b.rect((0.6, 1.5), 0.8, 0.2, static=True)
    ball = b.circle((0.6, 1.8), 0.18, role="green")
    b.thruster(ball, angle=65, power=0.22)
    b.circle((4.2, 2.2), 0.25, role="blue", static=True)


@level(
    "s",
    "land_on_pad",
    family=F,
    difficulty="medium",
    description="Fall above a red floor; thrust to land on the blue pad on the right.",
    releases=("v1", "v2"),
)
def _(b):
    b.floor("red")
    box = b.rect((0.8, 3.8), 0.3, 0.3, role="green")
    b.thruster(box, angle=70, power=0.3)
    b.circle((4.0, 0.6), 0.45, role="blue", static=True)


@level(
    "s",
    "push_box_left",
    family=F,
    difficulty="easy",
    description="A box whose thruster points left must slide along the floor to the blue ball.",
)
def _(b):
    box = b.rect((3.8, 0.55), 0.4, 0.3, role="green", friction=0.3)
    b.thruster(box, angle=170, power=0.4)
    b.circle((0.5, 0.7), 0.3, role="blue", static=True)


@level(
    "m",
    "twin_jets",
    family=F,
    difficulty="medium",
    description="Two thrusters on one box (left and right tilted) steer it up to a blue target.",
    releases=("v1", "v2"),
)
def _(b):
    box = b.rect((2.5, 0.55), 0.5, 0.3, role="green")
    b.thruster(box, angle=60, power=0.4, binding=0, at=(-0.2, 0))
    b.thruster(box, angle=120, power=0.4, binding=1, at=(0.2, 0))
    b.rect((4.3, 3.8), 0.4, 0.4, role="blue", static=True)


@level(
    "m",
    "thread_the_gap",
    family=F,
    difficulty="hard",
    description="Fly a ball through the gap between two red blocks to reach the blue ball.",
    releases=("v1", "v2"),
)
def _(b):
    ball = b.circle((0.6, 0.6), 0.18, role="green")
    b.thruster(ball, angle=90, power=0.2, binding=0)
    b.thruster(ball, angle=0, power=0.1, binding=1)
    b.rect((2.5, 1.3), 0.3, 1.8, role="red", static=True)
    b.rect((2.5, 4.3), 0.3, 1.4, role="red", static=True)
    b.circle((4.3, 2.5), 0.3, role="blue", static=True)


@level(
    "m",
    "balloon_lift",
    family=F,
    difficulty="easy",
    description="A weak lifting thruster on a heavy crate: carry it up to touch the blue ceiling bar.",  # noqa: E501
)
def _(b):
    crate = b.rect((3.0, 0.65), 0.5, 0.5, role="green", density=1.5)
    b.thruster(crate, angle=90, power=0.5, binding=0)
    b.thruster(crate, angle=180, power=0.1, binding=1)
    b.rect((1.0, 4.6), 1.4, 0.2, role="blue", static=True)


@level(
    "m",
    "drop_onto_target",
    family=F,
    difficulty="medium",
    description="Fly off a high ledge and land on a blue ball sitting between red spikes.",
)
def _(b):
    b.rect((0.7, 3.0), 1.2, 0.2, static=True)
    box = b.rect((0.5, 3.3), 0.3, 0.3, role="green")
    b.thruster(box, angle=0, power=0.3, binding=0)
    b.thruster(box, angle=90, power=0.2, binding=1)
    b.circle((3.1, 0.6), 0.2, role="red", static=True)
    b.circle((4.6, 0.6), 0.2, role="red", static=True)
    b.circle((3.85, 0.55), 0.2, role="blue", static=True)


@level(
    "l",
    "lunar_descent",
    family=F,
    difficulty="hard",
    description="A lander with two angled engines descends over a red floor onto a blue landing pad.",  # noqa: E501
)
def _(b):
    b.floor("red")
    body = b.rect((1.0, 4.0), 0.5, 0.25, role="green")
    leg_l = b.rect((0.8, 3.8), 0.06, 0.25)
    leg_r = b.rect((1.2, 3.8), 0.06, 0.25)
    b.weld(body, leg_l)
    b.weld(body, leg_r)
    b.thruster(body, angle=70, power=0.3, binding=0, at=(-0.2, 0))
    b.thruster(body, angle=110, power=0.3, binding=1, at=(0.2, 0))
    b.rect((3.8, 0.9), 1.0, 0.2, role="blue", static=True)
    b.rect((3.8, 0.6), 0.2, 0.4, static=True)


@level(
    "l",
    "orbit_the_pillar",
    family=F,
    difficulty="medium",
    description="Steer a ball with two thrusters around a tall pillar to the blue ball behind it.",
    releases=("v1", "v2"),
)
def _(b):
    ball = b.circle((0.8, 0.6), 0.2, role="green")
    b.thruster(ball, angle=90, power=0.25, binding=0)
    b.thruster(ball, angle=0, power=0.12, binding=1)
    b.rect((2.5, 2.0), 0.3, 3.2, static=True)
    b.rect((3.6, 2.6), 1.0, 0.15, static=True)
    b.circle((3.6, 0.65), 0.25, role="blue", static=True)


@level(
    "l",
    "ceiling_bell",
    family=F,
    difficulty="easy",
    description="Rise with a cluster of grey ballast welded to the green ball and ring the blue bell.",  # noqa: E501
)
def _(b):
    ball = b.circle((2.5, 0.6), 0.2, role="green")
    w1 = b.rect((2.2, 0.55), 0.2, 0.2)
    w2 = b.rect((2.8, 0.55), 0.2, 0.2)
    b.weld(ball, w1)
    b.weld(ball, w2)
    b.thruster(ball, angle=90, power=0.5, binding=0)
    b.thruster(ball, angle=0, power=0.1, binding=1)
    b.circle((3.8, 4.4), 0.3, role="blue", static=True)
    b.rect((1.0, 3.0), 1.0, 0.15, role="red", static=True)


@level(
    "l",
    "rocket_tunnel",
    family=F,
    difficulty="medium",
    description="Lift a two-engine lander off its pad and through a gap in a red wall to the blue pad; the floor is red.",  # noqa: E501
    releases=("v1", "v2"),
)
def _(b):
    b.floor("red")
    b.rect((0.7, 0.8), 1.0, 0.2, static=True)
    body = b.rect((0.7, 1.1), 0.5, 0.25, role="green")
    leg_l = b.rect((0.5, 0.95), 0.06, 0.1)
    leg_r = b.rect((0.9, 0.95), 0.06, 0.1)
    b.weld(body, leg_l)
    b.weld(body, leg_r)
    b.thruster(body, angle=70, power=0.3, binding=0, at=(-0.2, 0))
    b.thruster(body, angle=110, power=0.3, binding=1, at=(0.2, 0))
    b.rect((2.5, 3.85), 1.4, 2.3, role="red", static=True)  # the gap is y 1.5..2.7
    b.rect((2.5, 0.95), 1.4, 1.1, role="red", static=True)
    b.rect((4.3, 1.6), 1.0, 0.2, role="blue", static=True)
    b.rect((4.3, 1.0), 0.2, 1.0, static=True)


@level(
    "s",
    "perch_to_blue_over_red",
    family=F,
    difficulty="medium",
    description="Burn, then coast: hop a thruster box from a round perch over a red floor onto the blue ball.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.floor("red")
    b.circle((0.9, 0.9), 0.5, static=True)
    box = b.rect((0.9, 1.55), 0.3, 0.3, role="green")
    b.thruster(box, angle=50, power=0.45)
    b.circle((3.6, 1.0), 0.45, role="blue", static=True)


@level(
    "s",
    "sidestep_onto_pad",
    family=F,
    difficulty="medium",
    description="Falling over a red floor, give the box a short sideways burst so it lands on the blue pad below; a held burst misses it.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.floor("red")
    box = b.rect((4.3, 4.0), 0.3, 0.3, role="green")
    b.thruster(box, angle=180, power=0.3)
    b.circle((3.2, 0.5), 0.4, role="blue", static=True)


@level(
    "l",
    "hop_the_wall_under_red",
    family=F,
    difficulty="medium",
    description="Under a red ceiling, burn up just enough to clear a wall, cut the engine and drift right so the ball drops onto the blue floor behind it.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.rect((2.5, 3.1), 5.0, 0.2, role="red", static=True)
    b.rect((2.5, 1.3), 0.2, 1.8, static=True)
    b.rect((3.9, 0.5), 1.6, 0.2, role="blue", static=True)
    ball = b.circle((0.8, 0.6), 0.2, role="green")
    b.thruster(ball, angle=90, power=0.25, binding=0)
    b.thruster(ball, angle=0, power=0.05, binding=1)


@level(
    "m",
    "drop_behind_the_wall",
    family=F,
    difficulty="medium",
    description="Steer a box with two slanted jets up over a wall, under the red ball above it, and down the far side onto the blue ball at the wall's foot.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    box = b.rect((0.8, 0.55), 0.3, 0.3, role="green", friction=0.3)
    b.thruster(box, angle=60, power=0.35, binding=0)
    b.thruster(box, angle=120, power=0.35, binding=1)
    b.rect((2.4, 1.4), 0.25, 2.0, static=True)
    b.circle((3.0, 3.4), 0.35, role="red", static=True)
    b.circle((2.95, 0.62), 0.2, role="blue", static=True)


@level(
    "m",
    "hover_to_the_lamp",
    family=F,
    difficulty="medium",
    description="A lift jet barely stronger than gravity and a weak push jet: pulse the lift to hold height and drift right to the blue ball hanging in mid air, below a red ceiling.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    box = b.rect((0.6, 0.55), 0.3, 0.3, role="green", friction=0.3)
    b.thruster(box, angle=90, power=0.13, binding=0)
    b.thruster(box, angle=0, power=0.05, binding=1)
    b.rect((2.5, 3.6), 5.0, 0.2, role="red", static=True)
    b.circle((3.9, 1.7), 0.15, role="blue", static=True)
