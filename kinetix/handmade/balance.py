"""Balance levels: cart-poles, beams and seesaws."""

from __future__ import annotations

from kinetix.handmade.registry import level

F = "balance"


@level(
    "s",
    "tilt_plate",
    family=F,
    difficulty="easy",
    description="Tilt a motorised plate so the green ball rolls off it onto the blue floor.",
)
def _(b):
    b.floor("blue")
    pivot = b.circle((2.5, 1.5), 0.08, static=True)
    plate = b.rect((2.5, 1.62), 2.4, 0.1)
    b.hinge(pivot, plate, (2.5, 1.5), binding=0, speed=0.5, limits=(-30, 30))
    del pivot
    b.circle((2.5, 1.9), 0.2, role="green")


@level(
    "m",
    "beam_roll_right",
    family=F,
    difficulty="medium",
    description="Tip a motorised beam to roll the green ball right and drop it onto the blue block.",  # noqa: E501
)
def _(b):
    pivot = b.circle((2.2, 1.6), 0.08, static=True)
    beam = b.rect((2.2, 1.73), 2.6, 0.1)
    b.hinge(pivot, beam, (2.2, 1.6), binding=1, speed=0.4, limits=(-25, 25))
    b.circle((1.6, 2.0), 0.18, role="green")
    b.rect((4.5, 0.7), 0.6, 0.6, role="blue", static=True)


@level(
    "m",
    "beam_roll_left_red",
    family=F,
    difficulty="medium",
    description="Roll the ball left along a motorised beam to the blue cup; the right side is red.",
)
def _(b):
    b.floor("red")
    pivot = b.circle((2.5, 1.6), 0.08, static=True)
    beam = b.rect((2.5, 1.73), 3.0, 0.1)
    b.hinge(pivot, beam, (2.5, 1.6), binding=0, speed=0.4, limits=(-20, 20))
    b.circle((2.9, 2.0), 0.18, role="green")
    b.rect((0.4, 1.3), 0.6, 0.3, role="blue", static=True)


@level(
    "l",
    "thrust_cartpole",
    family=F,
    difficulty="hard",
    description="Push a thruster cart right without letting its green-tipped pole hit the red floor.",  # noqa: E501
    releases=("v1", "v2"),
)
def _(b):
    b.floor("red")
    b.rect((2.5, 0.5), 4.6, 0.2, static=True)
    cart = b.rect((1.0, 0.75), 0.6, 0.3, density=2.0, friction=0.2)
    pole = b.rect((1.0, 1.4), 0.08, 1.0, density=0.5)
    b.hinge(cart, pole, (1.0, 0.9), motor=False)
    tip = b.circle((1.0, 1.9), 0.1, role="green", density=0.5)
    b.weld(pole, tip)
    b.thruster(cart, angle=0, power=0.8, binding=0)
    b.thruster(cart, angle=180, power=0.8, binding=1)
    b.circle((4.3, 1.9), 0.25, role="blue", static=True)


@level(
    "l",
    "cartpole_wheels",
    family=F,
    difficulty="hard",
    description="Drive a wheeled cart right carrying an upright pole; its green tip must reach blue, the floor is red.",  # noqa: E501
)
def _(b):
    b.floor("red")
    b.rect((2.5, 0.5), 4.8, 0.2, static=True)
    cart = b.rect((1.0, 0.95), 0.8, 0.16, density=2.0)
    for dx in (-0.28, 0.28):
        w = b.circle((1.0 + dx, 0.77), 0.17)
        b.hinge(cart, w, (1.0 + dx, 0.77), binding=0, speed=0.8)
    pole = b.rect((1.0, 1.6), 0.08, 1.1, density=0.5)
    b.hinge(cart, pole, (1.0, 1.03), motor=False)
    tip = b.circle((1.0, 2.15), 0.1, role="green", density=0.5)
    b.weld(pole, tip)
    b.rect((4.4, 2.2), 0.4, 0.4, role="blue", static=True)


@level(
    "l",
    "seesaw_counterweight",
    family=F,
    difficulty="medium",
    description="Drop a thruster crate on one end of a seesaw to lift the green ball into the blue ring.",  # noqa: E501
)
def _(b):
    b.polygon((2.5, 0.4), [(-0.25, 0.0), (0.25, 0.0), (0.0, 0.45)], static=True)
    board = b.rect((2.5, 0.9), 3.4, 0.1)
    tri = b.circle((2.5, 0.85), 0.05, static=True)
    b.hinge(tri, board, (2.5, 0.85), motor=False)
    b.circle((1.0, 1.15), 0.18, role="green", density=0.5)
    crate = b.rect((4.1, 3.6), 0.4, 0.4, density=4.0)
    b.thruster(crate, angle=-90, power=1.0, binding=0)
    b.thruster(crate, angle=180, power=0.3, binding=1)
    b.rect((1.0, 3.4), 0.6, 0.2, role="blue", static=True)


@level(
    "l",
    "balance_beam_walk",
    family=F,
    difficulty="hard",
    description="Keep a beam level with its motor while a thruster ball crosses it to the blue post over a red floor.",  # noqa: E501
)
def _(b):
    b.floor("red")
    post = b.rect((2.5, 1.0), 0.15, 1.2, static=True)
    beam = b.rect((2.5, 1.67), 4.0, 0.1)
    b.hinge(post, beam, (2.5, 1.62), binding=0, speed=0.3, limits=(-15, 15))
    ball = b.circle((0.8, 1.92), 0.2, role="green")
    b.thruster(ball, angle=0, power=0.1, binding=0)
    b.rect((4.75, 2.3), 0.3, 0.3, role="blue", static=True)


@level(
    "l",
    "beam_cascade",
    family=F,
    difficulty="easy",
    description="Tilt two free-swinging motor beams in turn so the green ball rolls down both onto the blue pad; the floor is red.",  # noqa: E501
)
def _(b):
    b.floor("red")
    p1 = b.circle((1.5, 3.0), 0.06, static=True)
    beam1 = b.rect((1.5, 3.0), 1.8, 0.08)
    b.hinge(p1, beam1, (1.5, 3.0), binding=0, speed=0.3, limits=(-30, 30))
    b.circle((0.95, 3.19), 0.15, role="green")  # left of the pivot: an idle beam tips it off
    p2 = b.circle((3.4, 2.0), 0.06, static=True)
    beam2 = b.rect((3.4, 2.0), 1.8, 0.08)
    b.hinge(p2, beam2, (3.4, 2.0), binding=1, speed=0.3, limits=(-30, 30))
    b.rect((4.6, 0.9), 0.8, 0.2, role="blue", static=True)


@level(
    "s",
    "swing_up_to_top",
    family=F,
    difficulty="medium",
    description="Swing a hanging arm whose motor cannot lift it directly up over its pivot to the blue ball on top.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    pivot = b.circle((2.5, 2.4), 0.08, static=True)
    arm = b.rect((2.5, 1.8), 0.1, 1.2, role="green", density=1.0)
    b.hinge(pivot, arm, (2.5, 2.4), binding=0, speed=1.0, power=0.09)
    b.circle((2.5, 3.8), 0.2, role="blue", static=True)


@level(
    "l",
    "double_pump_reach",
    family=F,
    difficulty="hard",
    description="A hanging two-link arm with two weak motors: pump both joints in rhythm to swing the green lower link up to the blue ball above.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    pivot = b.circle((2.5, 3.2), 0.06, static=True)
    upper = b.rect((2.5, 2.8), 0.1, 0.8)
    b.hinge(pivot, upper, (2.5, 3.2), binding=0, speed=1.0, power=0.2)
    lower = b.rect((2.5, 2.0), 0.1, 0.8, role="green")
    b.hinge(upper, lower, (2.5, 2.4), binding=1, speed=1.0, power=0.2)
    b.circle((3.4, 4.3), 0.2, role="blue", static=True)


@level(
    "m",
    "acrobot_pump_to_top",
    family=F,
    difficulty="hard",
    description="An acrobot hangs from a free pivot; pump its elbow motor in rhythm with the swing until the green lower link flips up to the blue ball above the pivot.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    pivot = b.circle((2.5, 3.0), 0.06, static=True)
    upper = b.rect((2.5, 2.5), 0.08, 1.0)
    lower = b.rect((2.5, 1.5), 0.08, 1.0, role="green")
    b.hinge(pivot, upper, (2.5, 3.0), motor=False)
    b.hinge(upper, lower, (2.5, 2.0), binding=0, speed=2.0, power=1.0)
    b.circle((2.5, 4.75), 0.2, role="blue", static=True)


@level(
    "m",
    "jet_swing_over_the_top",
    family=F,
    difficulty="hard",
    description="A free pendulum with one weak jet at its tip, too weak to hold it out: fire in time with the swing to pump it higher until it swings over the top into the blue ball.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    pivot = b.circle((2.5, 3.0), 0.06, static=True)
    rod = b.rect((2.5, 2.3), 0.1, 1.4, role="green")
    b.hinge(pivot, rod, (2.5, 3.0), motor=False)
    b.thruster(rod, angle=0, power=0.03, binding=0, at=(0, -0.65))
    b.circle((2.5, 4.6), 0.2, role="blue", static=True)


@level(
    "l",
    "pole_unicycle_red_floor",
    family=F,
    difficulty="hard",
    description="A wheel whose motor pushes against its own upright pole: keep the pole up while rolling right until its green tip reaches the blue block; the floor under the road is red.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.floor("red")
    b.rect((2.5, 0.5), 4.8, 0.2, static=True)
    wheel = b.circle((1.0, 0.9), 0.3)
    pole = b.rect((1.0, 1.5), 0.08, 1.2)
    b.hinge(wheel, pole, (1.0, 0.9), binding=0, speed=2.0, power=1.0)
    tip = b.circle((1.0, 2.1), 0.1, role="green")
    b.weld(pole, tip)
    b.rect((4.4, 2.1), 0.3, 0.3, role="blue", static=True)
