"""Manipulation levels: arms that reach, sweep, push and carry."""

from __future__ import annotations

from kinetix.handmade.registry import level

F = "manipulation"


def _arm2(b, base_xy, l1, l2, *, tip_role="green", up=True, speed=0.5):
    """A two-link arm on a static round base: link 1 on motor 0, link 2 on motor 1."""
    x, y = base_xy
    base = b.circle((x, y), 0.12, static=True)
    sgn = 1 if up else -1
    link1 = b.rect((x, y + sgn * l1 / 2), 0.1, l1)
    b.hinge(base, link1, (x, y), binding=0, speed=speed, limits=(-150, 150))
    link2 = b.rect((x, y + sgn * (l1 + l2 / 2)), 0.08, l2, role=tip_role)
    b.hinge(link1, link2, (x, y + sgn * l1), binding=1, speed=speed, limits=(-150, 150))
    return base, link1, link2


@level(
    "s",
    "arm_swing_right",
    family=F,
    difficulty="easy",
    description="Swing a motorised arm down to the right until it touches the blue ball.",
)
def _(b):
    base = b.circle((1.5, 2.5), 0.1, static=True)
    arm = b.rect((1.5, 3.2), 0.1, 1.4, role="green")
    b.hinge(base, arm, (1.5, 2.5), binding=3, speed=0.5, limits=(-170, 170))
    del base
    b.circle((2.7, 1.9), 0.2, role="blue", static=True)


@level(
    "s",
    "arm_reach_behind",
    family=F,
    difficulty="medium",
    description="Rotate a motorised arm the long way round (limits block the short way) to the blue ball.",  # noqa: E501
)
def _(b):
    base = b.circle((2.5, 2.5), 0.1, static=True)
    arm = b.rect((3.1, 2.5), 1.2, 0.1, role="green")
    b.hinge(base, arm, (2.5, 2.5), binding=0, speed=0.6, limits=(-200, 10))
    del base
    b.circle((3.0, 3.2), 0.18, role="blue", static=True)


@level(
    "m",
    "arm_reach_up",
    family=F,
    difficulty="easy",
    description="A two-link arm hanging from its base reaches up to a blue ball.",
    releases=("v1", "v2"),
)
def _(b):
    _arm2(b, (2.5, 2.6), 0.9, 0.8, up=False)
    b.circle((3.3, 3.8), 0.2, role="blue", static=True)


@level(
    "m",
    "arm_reach_floor_left",
    family=F,
    difficulty="medium",
    description="A two-link arm standing on a pedestal bends down to touch a blue ball on the floor.",  # noqa: E501
)
def _(b):
    _arm2(b, (3.2, 1.0), 0.9, 0.8)
    b.circle((1.5, 0.6), 0.2, role="blue", static=True)


@level(
    "l",
    "arm_sweep_ball",
    family=F,
    difficulty="medium",
    description="Use a two-link grey arm to sweep the green ball off its shelf into the blue bin.",
)
def _(b):
    _arm2(b, (1.2, 2.0), 0.8, 0.7, tip_role="grey")
    b.rect((2.4, 2.2), 1.0, 0.1, static=True)
    b.circle((2.3, 2.43), 0.18, role="green")
    b.rect((4.2, 0.6), 1.0, 0.4, role="blue", static=True)
    b.rect((3.65, 1.0), 0.1, 1.0, static=True)


@level(
    "l",
    "claw_lift",
    family=F,
    difficulty="hard",
    description="Scoop the green ball with a motorised cup on an arm and lift it up to the blue shelf.",  # noqa: E501
)
def _(b):
    base = b.circle((1.6, 2.4), 0.12, static=True)
    arm = b.rect((1.6, 1.65), 0.1, 1.5)
    b.hinge(base, arm, (1.6, 2.4), binding=0, speed=0.4, limits=(-120, 120))
    cup = b.polygon((1.6, 0.75), [(-0.3, 0.1), (-0.2, -0.1), (0.2, -0.1), (0.3, 0.1)])
    b.hinge(arm, cup, (1.6, 0.9), binding=1, speed=0.5, limits=(-60, 60))
    b.circle((2.3, 0.6), 0.18, role="green")
    b.rect((3.6, 3.0), 1.2, 0.2, role="blue", static=True)


@level(
    "l",
    "gripper_push",
    family=F,
    difficulty="medium",
    description="Drive a wheeled base carrying a motor arm; push the green block off the table onto the blue floor.",  # noqa: E501
    releases=("v1", "v2"),
)
def _(b):
    b.floor("blue")
    b.rect((2.5, 1.0), 3.4, 0.2, static=True)
    b.rect((1.0, 0.7), 0.2, 0.4, static=True)
    b.rect((4.0, 0.7), 0.2, 0.4, static=True)
    block = b.rect((3.3, 1.25), 0.3, 0.3, role="green")
    del block
    base = b.circle((1.3, 1.25), 0.15, static=True)
    arm = b.rect((1.3, 1.9), 0.1, 1.3)
    b.hinge(base, arm, (1.3, 1.25), binding=0, speed=0.5, limits=(-110, 10))
    fore = b.rect((1.8, 2.5), 1.0, 0.08)
    b.hinge(arm, fore, (1.3, 2.5), binding=1, speed=0.5, limits=(-120, 60))


@level(
    "m",
    "arm_bat_ball",
    family=F,
    difficulty="easy",
    description="A hanging two-link arm bats the green ball along the floor until it rolls into the blue ball.",  # noqa: E501
)
def _(b):
    _arm2(b, (1.0, 1.8), 0.7, 0.6, tip_role="grey", up=False)
    b.circle((1.6, 0.6), 0.2, role="green")
    b.circle((4.4, 0.7), 0.3, role="blue", static=True)


@level(
    "l",
    "arm_topple_tower",
    family=F,
    difficulty="easy",
    description="Reach over with a two-link arm and knock the green block off a stack on a table onto the blue floor.",  # noqa: E501
)
def _(b):
    b.floor("blue")
    b.rect((0.9, 0.8), 0.5, 0.8, static=True)  # the arm's pedestal
    _arm2(b, (0.9, 1.3), 0.8, 0.7, tip_role="grey")
    b.rect((2.3, 0.8), 0.8, 0.8, static=True)  # the table
    b.rect((2.3, 1.35), 0.3, 0.3)
    b.rect((2.3, 1.65), 0.3, 0.3)
    b.rect((2.3, 1.95), 0.3, 0.3, role="green")


@level(
    "s",
    "pump_arm_reach",
    family=F,
    difficulty="medium",
    description="A hanging arm's motor is too weak to lift it straight: swing it back and forth to reach the blue ball up to the right.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    pivot = b.circle((2.0, 2.4), 0.08, static=True)
    arm = b.rect((2.0, 1.8), 0.1, 1.2, role="green", density=1.0)
    b.hinge(pivot, arm, (2.0, 2.4), binding=0, speed=1.0, power=0.09)
    b.circle((2.9, 3.4), 0.2, role="blue", static=True)


@level(
    "s",
    "jet_board_carry",
    family=F,
    difficulty="medium",
    description="Fly a thruster board carrying a loose green ball up to the blue ball without spilling it onto the red floor.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.floor("red")
    board = b.rect((1.0, 0.6), 0.7, 0.2)
    b.thruster(board, angle=80, power=1.2)
    b.circle((1.0, 0.85), 0.15, role="green")
    b.circle((3.2, 2.8), 0.3, role="blue", static=True)


@level(
    "s",
    "jet_board_carry_left",
    family=F,
    difficulty="medium",
    description="Fly a left-tilted thruster board with a loose green ball up and left to the high blue ball; the floor is red.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.floor("red")
    board = b.rect((4.0, 0.6), 0.7, 0.2)
    b.thruster(board, angle=100, power=1.2)
    b.circle((4.0, 0.85), 0.15, role="green")
    b.circle((1.6, 3.2), 0.3, role="blue", static=True)


@level(
    "m",
    "tray_lift_level",
    family=F,
    difficulty="hard",
    description="Raise a slow arm carrying a loose green ball on a faster motorised tray; keep the tray level by pulsing its motor so the ball rides up to the blue ball.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    pivot = b.circle((1.2, 1.2), 0.06, static=True)
    arm = b.rect((1.9, 1.2), 1.4, 0.08)
    b.hinge(pivot, arm, (1.2, 1.2), binding=0, speed=0.4, power=1.0, limits=(-10, 80))
    tray = b.rect((2.6, 1.3), 0.6, 0.06, friction=0.6)
    b.hinge(arm, tray, (2.6, 1.2), binding=1, speed=1.0, power=0.5, limits=(-90, 30))
    b.circle((2.6, 1.46), 0.12, role="green")
    b.circle((1.2, 3.0), 0.15, role="blue", static=True)


@level(
    "m",
    "tray_copter",
    family=F,
    difficulty="hard",
    description="A tray with a lift jet at each end carries a loose green ball off a pillar, over a red floor, to the blue ball; uneven thrust tilts the tray and the ball rolls off.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.floor("red")
    b.rect((0.6, 0.8), 0.8, 0.8, static=True)
    tray = b.rect((0.6, 1.27), 0.7, 0.12, friction=0.9)
    b.thruster(tray, angle=90, power=0.12, binding=0, at=(-0.3, 0))
    b.thruster(tray, angle=90, power=0.12, binding=1, at=(0.3, 0))
    b.circle((0.6, 1.45), 0.11, role="green", density=0.5)
    b.circle((4.0, 3.0), 0.2, role="blue", static=True)


@level(
    "l",
    "open_the_gate_then_bat",
    family=F,
    difficulty="medium",
    description="A green ball rests in a cradle behind a closed gate: swing the gate up out of the way first, then bat the ball with the hanging arm so it rolls under to the blue ball; batted early, it bounces back.",  # noqa: E501
    releases=("v2",),
)
def _(b):
    b.polygon((0, 0), [(1.1, 0.4), (1.45, 0.4), (1.1, 0.5)], static=True)  # the cradle
    b.polygon((0, 0), [(1.75, 0.4), (2.1, 0.4), (2.1, 0.47)], static=True)
    b.rect((3.1, 0.44), 2.0, 0.08, static=True)
    bat_pivot = b.circle((1.0, 1.5), 0.06, static=True)
    bat = b.rect((1.0, 1.0), 0.1, 1.0, density=3.0)
    b.hinge(bat_pivot, bat, (1.0, 1.5), binding=0, speed=2.0, power=2.0, limits=(-10, 75))
    gate_pivot = b.circle((2.6, 1.5), 0.06, static=True)
    gate = b.rect((2.6, 1.0), 0.08, 1.0)  # swings up to the left only
    b.hinge(gate_pivot, gate, (2.6, 1.5), binding=1, speed=0.15, power=1.0, limits=(-100, 0))
    b.rect((2.6, 3.3), 0.15, 3.4, static=True)  # a wall above the gate
    b.circle((1.6, 0.55), 0.15, role="green", restitution=0.5)
    b.circle((4.5, 0.75), 0.25, role="blue", static=True)
