"""Write the project's own demo grooves into data/demo/*.mid (deterministic).

These few songs are the default training data of train.py: small enough to
learn in a minute, varied enough to hear the model pick a style. Every groove
below is written by hand as a drum tab (see encoding.bars_to_tab): one row per
drum, one column per 16th note, `x` a hit, `-` a rest.

    python data/make_demo.py        # rewrites data/demo/ (byte-identical each run)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import encoding  # noqa: E402

# ----------------------------------------------------------------------------
# Grooves (one bar each) and fills

ROCK = """
HH |x-x-x-x-x-x-x-x-|
SD |----x-------x---|
BD |x-------x-x-----|
"""
ROCK_B = """
OH |--------------x-|
HH |x-x-x-x-x-x-x---|
SD |----x-------x---|
BD |x-x-----x-x-----|
"""
DOUBLE_KICK = """
CR |x---x---x---x---|
SD |----x-------x---|
BD |xxxxxxxxxxxxxxxx|
"""
DOUBLE_KICK_RIDE = """
RD |x-x-x-x-x-x-x-x-|
SD |----x-------x---|
BD |xxxxxxxxxxxxxxxx|
"""
SKANK = """
HH |x-x-x-x-x-x-x-x-|
SD |--x---x---x---x-|
BD |x---x---x---x---|
"""
SKANK_CRASH = """
CR |x---x---x---x---|
SD |--x---x---x---x-|
BD |x---x---x---x---|
"""
HALF_TIME = """
HH |x-x-x-x-x-x-x-x-|
SD |--------x-------|
BD |x-----x---x-----|
"""
HALF_TIME_RIDE = """
RD |x-x-x-x-x-x-x-x-|
SD |--------x-------|
BD |x-----x---x--x--|
"""
SEVEN_EIGHT = """
HH |x-x-x-x-x-x-x-|
SD |----x-----x---|
BD |x-x-----x-x---|
"""
WALTZ = """
RD |x---x---x---|
SD |----x---x---|
BD |x-----------|
"""

FILL_TOMS = """
SD |xxxx------------|
MT |----xx-x--------|
LT |--------xx-x----|
FT |------------xxx-|
BD |x-----------x---|
"""
FILL_SNARE = """
SD |----x---xxxxxxxx|
HH |x-x-x-x---------|
BD |x-------x---x---|
"""
FILL_SEVEN = """
SD |xx-xx---------|
MT |------xx------|
FT |--------xx-xx-|
BD |x-----------x-|
"""
FILL_WALTZ = """
SD |--xx--------|
LT |------xx----|
FT |--------xxx-|
BD |x-----------|
"""


def bar(tab):
    (only,) = encoding.tab_to_bars(tab)
    return only


def crash_on_the_one(steps):
    """The same bar with a crash and a kick on its first step (a new section starts)."""
    crash_kick = encoding.class_bit(8) | encoding.class_bit(0)
    hats = encoding.class_bit(2) | encoding.class_bit(7)  # the crash replaces hi-hat or ride
    return [(steps[0] & ~hats) | crash_kick] + steps[1:]


def phrase(groove, fill, n_bars, alternate=None):
    """n_bars: crash on the one, the groove (alternating with another), a fill last."""
    grooves = [bar(groove), bar(alternate or groove)]
    bars = [grooves[i % 2] for i in range(n_bars - 1)] + [bar(fill)]
    bars[0] = crash_on_the_one(bars[0])
    return bars


# (file name, tempo in bpm, bars)
SONGS = [
    ("rock_8ths", 112, phrase(ROCK, FILL_SNARE, 8, ROCK_B) * 2 + phrase(ROCK, FILL_TOMS, 8)),
    ("double_kick_metal", 170, phrase(DOUBLE_KICK, FILL_TOMS, 8)
     + phrase(DOUBLE_KICK_RIDE, FILL_SNARE, 8) + phrase(DOUBLE_KICK, FILL_TOMS, 8)),
    ("thrash_skank", 210, phrase(SKANK, FILL_SNARE, 8) + phrase(SKANK_CRASH, FILL_TOMS, 8)
     + phrase(SKANK, FILL_TOMS, 8)),
    ("half_time", 90, phrase(HALF_TIME, FILL_TOMS, 8) + phrase(HALF_TIME_RIDE, FILL_SNARE, 8)),
    ("seven_eight", 150, phrase(SEVEN_EIGHT, FILL_SEVEN, 4) * 4),
    ("waltz_3_4", 120, phrase(WALTZ, FILL_WALTZ, 8) * 2),
]


def main():
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo")
    os.makedirs(folder, exist_ok=True)
    total = 0
    for name, bpm, bars in SONGS:
        path = os.path.join(folder, name + ".mid")
        encoding.write_atomic(path, encoding.midi_to_bytes(encoding.bars_to_midi(bars, bpm=bpm)))
        print(f"{path}: {len(bars)} bars at {bpm} bpm")
        total += len(bars)
    print(f"{len(SONGS)} songs, {total} bars")


if __name__ == "__main__":
    main()
