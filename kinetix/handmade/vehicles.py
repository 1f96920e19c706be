"""Vehicle levels: cars, unicycles and ramps."""

from __future__ import annotations

from kinetix.handmade.registry import level

F = "vehicles"


def _car(
    b,
    x,
    *,
    body_role="green",
    wheel_role="grey",
    wheel_r=0.18,
    width=1.0,
    speed=1.0,
    power=1.0,
    y=None,
):
    """A car: a body on two motor wheels driven by motor binding 0. Returns (body, wheels)."""
    y = 0.4 + wheel_r if y is None else y
    body = b.rect((x, y + 0.15), width, 0.18, role=body_role)
    wheels = []
    for dx in (-0.35 * width, 0.35 * width):
        w = b.circle((x + dx, y), wheel_r, friction=1.0, role=wheel_role if dx > 0 else "grey")
        b.hinge(body, w, (x + dx, y), binding=0, speed=speed, power=power)
        wheels.append(w)
    return body, wheels


def _small_car(b, x, y, *, speed, power):
    """A 0.6 m car body at (x, y) (green) on two wheels of radius 0.15 driven by motor binding
    0; returns the body."""
    body = b.rect((x, y), 0.6, 0.12, role="green")
    for dx in (-0.22, 0.22):
        wheel = b.circle((x + dx, y - 0.17), 0.15)
        b.hinge(body, wheel, (x + dx, y - 0.17), binding=0, speed=speed, power=power)
    return body


@level(
    "s",
    "unicycle_right",
    family=F,
    difficulty="easy",
    description="Roll a motor wheel with its seat to the blue ball on the right.",
)
def _(b):
    wheel = b.circle((1.0, 0.65), 0.25, role="green")
    seat = b.rect((1.0, 1.0), 0.4, 0.1)
    b.hinge(seat, wheel, (1.0, 0.65), binding=0, speed=1.0)
    b.circle((4.3, 0.7), 0.3, role="blue", static=True)


@level(
    "s",
    "unicycle_left",
    family=F,
    difficulty="easy",
    description="Roll a motor wheel with a heavy seat to the blue ball on the left.",
)
def _(b):
    wheel = b.circle((3.6, 0.6), 0.2, role="green")
    seat = b.rect((3.6, 0.9), 0.6, 0.12, density=3.0)
    b.hinge(seat, wheel, (3.6, 0.6), binding=2, speed=0.8)
    b.circle((0.6, 0.7), 0.3, role="blue", static=True)


@level(
    "m",
    "car_right",
    family=F,
    difficulty="easy",
    description="Drive a two-wheeled car right until its green body touches the blue wall.",
)
def _(b):
    _car(b, 1.0, wheel_r=0.14, width=1.2)  # the body overhangs the wheels: it meets the wall first
    b.rect((4.7, 1.2), 0.3, 1.6, role="blue", static=True)


@level(
    "m",
    "car_left",
    family=F,
    difficulty="easy",
    description="Drive a two-wheeled car left (reverse) until its green body touches the blue wall.",  # noqa: E501
)
def _(b):
    _car(b, 3.8, wheel_r=0.14, width=1.2)
    b.rect((0.3, 1.2), 0.3, 1.6, role="blue", static=True)


@level(
    "m",
    "car_over_hill",
    family=F,
    difficulty="medium",
    description="Drive a car over a round hill until its green front wheel touches the blue block.",
)
def _(b):
    _car(b, 0.9, body_role="grey", wheel_role="green", width=0.8)
    b.circle((2.6, -0.3), 1.0, static=True)
    b.rect((4.5, 0.7), 0.4, 0.6, role="blue", static=True)


@level(
    "m",
    "car_red_pothole",
    family=F,
    difficulty="easy",
    description="Drive the long green-bodied car over a red hump (without scraping it) to the blue wall.",  # noqa: E501
)
def _(b):
    _car(b, 0.9, wheel_r=0.2, width=1.4)
    b.circle((2.6, 0.1), 0.6, role="red", static=True)
    b.rect((4.7, 1.4), 0.3, 2.0, role="blue", static=True)


@level(
    "l",
    "car_ramp_jump",
    family=F,
    difficulty="medium",
    description="Drive up a ramp onto a raised platform until the green front wheel touches the blue block.",  # noqa: E501
)
def _(b):
    _car(b, 0.8, width=0.8, body_role="grey", wheel_role="green")
    b.polygon((2.4, 0.4), [(-0.8, 0.0), (0.8, 0.0), (0.8, 0.6)], static=True)
    b.rect((3.9, 0.7), 1.4, 0.6, static=True)
    b.rect((4.4, 1.2), 0.6, 0.4, role="blue", static=True)


@level(
    "l",
    "lorry_push",
    family=F,
    difficulty="medium",
    description="Push a green crate along the floor with a grey truck into the blue corner.",
)
def _(b):
    _car(b, 0.9, body_role="grey", width=0.9)
    b.rect((2.0, 0.65), 0.4, 0.5, role="green", friction=0.4)
    b.rect((4.75, 0.9), 0.3, 1.0, role="blue", static=True)


@level(
    "l",
    "car_over_red_pit",
    family=F,
    difficulty="easy",
    description="Jump a car off a ledge across a red pit until its green front wheel lands on blue.",  # noqa: E501
)
def _(b):
    b.rect((1.0, 1.2), 2.0, 0.2, static=True)
    _car(b, 0.8, width=0.8, y=1.48, body_role="grey", wheel_role="green", speed=2.0)
    b.rect((2.35, 0.5), 0.7, 0.2, role="red", static=True)
    b.rect((3.8, 0.75), 2.2, 0.7, role="blue", static=True)


@level(
    "l",
    "monster_truck",
    family=F,
    difficulty="easy",
    description="A truck with big wheels climbs over two logs to the blue flag.",
    releases=("v1", "v2"),
)
def _(b):
    _car(b, 0.9, wheel_r=0.28, width=1.0, power=2.0)
    b.circle((2.2, 0.45), 0.2, static=True)
    b.circle((3.2, 0.45), 0.2, static=True)
    b.rect((4.7, 1.5), 0.2, 2.0, role="blue", static=True)


@level(
    "s",
    "rocket_unicycle",
    family=F,
    difficulty="medium",
    description="Drive a unicycle under the high blue ball, then fire its lift thruster (firing early rises in the wrong place).",  # noqa: E501
    releases=("v2",),
)
def _(b):
    wheel = b.circle((1.0, 0.65), 0.25, role="green")
    seat = b.rect((1.0, 1.0), 0.5, 0.1)
    b.hinge(seat, wheel, (1.0, 0.65), binding=0, speed=1.0)
    b.thruster(seat, angle=90, power=0.5)
    b.circle((3.8, 2.6), 0.25, role="blue", static=True)


@level(
    "m",
    "run_up_the_ramp",
    family=F,
    difficulty="medium",
    description="A fast car too weak to climb the ramp from a standing start: back up to the left wall first, then drive right to carry enough speed up the ramp to the blue ball at its top.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.polygon((0, 0), [(2.6, 0.4), (5.0, 0.4), (5.0, 1.8)], static=True)
    body = b.rect((1.9, 0.75), 0.6, 0.12, role="green")
    for dx in (-0.22, 0.22):
        wheel = b.circle((1.9 + dx, 0.58), 0.15, friction=1.0)
        b.hinge(body, wheel, (1.9 + dx, 0.58), binding=0, speed=5.0, power=0.1)
    b.circle((4.8, 2.15), 0.15, role="blue", static=True)


@level(
    "l",
    "hop_the_red_hurdle",
    family=F,
    difficulty="medium",
    description="Drive a car with a lift jet right and fire the jet just long enough to hop the red hurdle without rising into the red ceiling, then land and reach the blue block.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.rect((2.5, 2.3), 5.0, 0.15, role="red", static=True)
    b.rect((2.5, 0.7), 0.5, 0.6, role="red", static=True)
    b.rect((4.6, 0.6), 0.4, 0.4, role="blue", static=True)
    body = _small_car(b, 0.9, 0.75, speed=2.0, power=0.3)
    b.thruster(body, angle=90, power=0.45, binding=0)


@level(
    "l",
    "jet_car_over_the_ditch",
    family=F,
    difficulty="medium",
    description="A car on a raised road must jump the ditch over the red floor with short bursts of a weak lift jet (too long and it hits the red ceiling) and drive on to the blue block.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.floor("red")
    b.rect((2.5, 2.6), 5.0, 0.15, role="red", static=True)
    b.rect((1.025, 0.7), 2.05, 0.6, static=True)
    b.rect((3.975, 0.7), 2.05, 0.6, static=True)
    b.rect((4.7, 1.2), 0.4, 0.4, role="blue", static=True)
    body = _small_car(b, 0.8, 1.35, speed=2.0, power=0.3)
    b.thruster(body, angle=90, power=0.3, binding=0)


@level(
    "l",
    "valley_car_red_backstop",
    family=F,
    difficulty="hard",
    description="A weak car in a valley rocks back and forth to climb the right slope to the blue ball, without running up the left slope into the red post.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.polygon((0, 0), [(0, 0.4), (1.8, 0.4), (0, 1.5)], static=True)
    b.polygon((0, 0), [(3.2, 0.4), (5.0, 0.4), (5.0, 1.5)], static=True)
    b.rect((0.15, 1.9), 0.3, 0.6, role="red", static=True)
    b.circle((4.8, 1.8), 0.15, role="blue", static=True)
    _small_car(b, 2.5, 0.75, speed=5.0, power=0.1)


@level(
    "m",
    "hop_the_red_bump",
    family=F,
    difficulty="medium",
    description="A green unicycle with a lift jet on its seat drives right; hop it over the red bump in its path with short bursts (held, the jet carries it to the ceiling) and land beyond to reach the blue ball.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    wheel = b.circle((0.8, 0.62), 0.2, role="green", friction=1.0)
    seat = b.rect((0.8, 0.62), 0.7, 0.1, density=0.5)
    b.hinge(wheel, seat, (0.8, 0.62), binding=0, speed=2.0, power=0.3)
    b.thruster(seat, angle=90, power=0.25, binding=0)
    b.circle((2.6, 0.4), 0.35, role="red", static=True)
    b.circle((4.4, 0.6), 0.2, role="blue", static=True)
