"""Locomotion levels: crawlers, walkers and hoppers made of motorised links."""

from __future__ import annotations

from kinetix.handmade.registry import level

F = "locomotion"


@level(
    "s",
    "flipper_crawl",
    family=F,
    difficulty="medium",
    description="A green disc with one motorised flipper levers itself along the floor to the blue ball.",  # noqa: E501
)
def _(b):
    body = b.circle((1.0, 0.7), 0.3, role="green", friction=0.5)
    flip = b.rect((1.0, 0.55), 0.9, 0.08, friction=1.5)
    b.hinge(body, flip, (1.0, 0.7), binding=0, speed=0.8, power=1.5)
    b.circle((4.3, 0.7), 0.3, role="blue", static=True)


@level(
    "m",
    "rolling_snake",
    family=F,
    difficulty="hard",
    description="A three-part chain of discs with two motor joints wriggles its green head to the blue block.",  # noqa: E501
)
def _(b):
    a = b.circle((0.7, 0.6), 0.2, role="green")
    m = b.rect((1.15, 0.6), 0.5, 0.12)
    c = b.circle((1.6, 0.6), 0.2)
    b.hinge(a, m, (0.9, 0.6), binding=0, speed=1.0, limits=(-90, 90))
    b.hinge(m, c, (1.4, 0.6), binding=1, speed=1.0, limits=(-90, 90))
    b.rect((4.6, 0.9), 0.4, 1.0, role="blue", static=True)


@level(
    "m",
    "two_flipper_hill",
    family=F,
    difficulty="medium",
    description="A green disc with two motorised flippers paddles itself over a hump to the blue ball.",  # noqa: E501
    releases=("v1", "v2"),
)
def _(b):
    body = b.circle((0.9, 0.7), 0.3, role="green", friction=0.5)
    low = b.rect((0.9, 0.55), 0.9, 0.08, friction=1.5)
    b.hinge(body, low, (0.9, 0.7), binding=0, speed=0.8, power=1.5)
    high = b.rect((0.9, 0.85), 0.9, 0.08, friction=1.5)
    b.hinge(body, high, (0.9, 0.7), binding=1, speed=0.8, power=1.5)
    b.circle((2.6, -0.2), 0.8, static=True)  # a hump 0.2 high: one flipper alone stalls on it
    b.circle((4.4, 0.7), 0.3, role="blue", static=True)


def _walker(b, x, *, leg=0.55, role="green"):
    torso = b.rect((x, 1.25), 0.8, 0.2, role=role)
    legs = []
    for k, dx in enumerate((-0.3, 0.3)):
        thigh = b.rect((x + dx, 1.25 - leg / 2), 0.08, leg)
        b.hinge(torso, thigh, (x + dx, 1.22), binding=k, speed=0.8, limits=(-60, 60))
        shin = b.rect((x + dx, 1.25 - leg - 0.12), 0.06, 0.25)
        b.hinge(thigh, shin, (x + dx, 1.25 - leg), binding=2 + k, speed=0.8, limits=(-60, 60))
        legs.append((thigh, shin))
    return torso, legs


@level(
    "l",
    "walker_right",
    family=F,
    difficulty="hard",
    description="A two-legged walker (hips and knees on four motors) walks its green torso to the blue wall.",  # noqa: E501
)
def _(b):
    _walker(b, 1.0)
    b.rect((4.7, 1.8), 0.3, 2.6, role="blue", static=True)


@level(
    "l",
    "walker_red_floor",
    family=F,
    difficulty="hard",
    description="A walker crosses to the blue platform; its green torso must not touch the red floor.",  # noqa: E501
)
def _(b):
    b.floor("red")
    _walker(b, 1.0, role="green")
    b.rect((4.5, 0.7), 0.8, 0.6, role="blue", static=True)
    b.rect((2.8, 0.45), 0.3, 0.1, static=True)


@level(
    "l",
    "hopper",
    family=F,
    difficulty="hard",
    description="A one-legged hopper with a motorised foot hops its green body over a low wall to blue.",  # noqa: E501
)
def _(b):
    body = b.rect((1.0, 1.4), 0.5, 0.3, role="green", density=1.5)
    leg = b.rect((1.0, 0.95), 0.08, 0.6)
    b.hinge(body, leg, (1.0, 1.25), binding=0, speed=1.0, limits=(-45, 45))
    foot = b.rect((1.05, 0.6), 0.45, 0.08, friction=2.0)
    b.hinge(leg, foot, (1.0, 0.65), binding=1, speed=1.2, power=2.0, limits=(-40, 40))
    b.thruster(body, angle=90, power=0.4, binding=0)
    b.rect((2.8, 0.6), 0.15, 0.4, static=True)
    b.rect((4.4, 1.0), 0.6, 1.2, role="blue", static=True)


@level(
    "l",
    "cheetah_bound",
    family=F,
    difficulty="hard",
    description="A long body with front and back motorised legs bounds along the floor to the blue ball.",  # noqa: E501
)
def _(b):
    body = b.rect((1.2, 1.0), 1.2, 0.15, role="green")
    for k, dx in enumerate((-0.5, 0.5)):
        leg = b.rect((1.2 + dx, 0.72), 0.08, 0.5)
        b.hinge(body, leg, (1.2 + dx, 0.97), binding=k, speed=1.0, limits=(-70, 70))
    b.circle((4.5, 0.8), 0.35, role="blue", static=True)


@level(
    "l",
    "tumbler",
    family=F,
    difficulty="medium",
    description="Two boxes joined by a motor hinge flip end over end to tumble to the blue wall.",
)
def _(b):
    a = b.rect((0.8, 0.65), 0.5, 0.5, role="green")
    c = b.rect((1.3, 0.65), 0.5, 0.5)
    b.hinge(a, c, (1.05, 0.9), binding=0, speed=0.6, power=3.0, limits=(-170, 5))
    b.rect((4.7, 1.5), 0.3, 2.2, role="blue", static=True)


@level(
    "l",
    "flipper_twin_humps",
    family=F,
    difficulty="medium",
    description="A green disc with two motorised flippers paddles over two humps to the blue ball.",
    releases=("v1", "v2"),
)
def _(b):
    body = b.circle((0.7, 0.7), 0.3, role="green", friction=0.5)
    low = b.rect((0.7, 0.55), 0.9, 0.08, friction=1.5)
    b.hinge(body, low, (0.7, 0.7), binding=0, speed=0.8, power=1.5)
    high = b.rect((0.7, 0.85), 0.9, 0.08, friction=1.5)
    b.hinge(body, high, (0.7, 0.7), binding=1, speed=0.8, power=1.5)
    b.circle((2.0, -0.27), 0.8, static=True)  # two humps 0.13 high
    b.circle((3.3, -0.27), 0.8, static=True)
    b.circle((4.5, 0.75), 0.35, role="blue", static=True)


@level(
    "s",
    "flipper_row",
    family=F,
    difficulty="hard",
    description="The disc's flipper is limited to +-80 degrees, so holding the motor pins it: row it back and forth to reach blue.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    body = b.circle((1.0, 0.7), 0.3, role="green", friction=0.5)
    flip = b.rect((1.0, 0.55), 0.9, 0.08, friction=1.5)
    b.hinge(body, flip, (1.0, 0.7), binding=0, speed=0.8, power=1.5, limits=(-80, 80))
    b.circle((3.0, 0.7), 0.3, role="blue", static=True)


@level(
    "m",
    "inchworm_crawl",
    family=F,
    difficulty="hard",
    description="A slippery green body with one grippy hinged leg: swing the leg back and forth in a rhythm that drags the body forward, step by step, to the blue ball.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    body = b.rect((1.0, 0.55), 0.8, 0.2, role="green", friction=0.2)
    leg = b.rect((0.45, 0.55), 0.5, 0.08, friction=1.0)
    b.hinge(body, leg, (0.6, 0.55), binding=0, speed=3.0, power=6.0, limits=(-120, 60))
    b.circle((3.8, 0.65), 0.25, role="blue", static=True)
