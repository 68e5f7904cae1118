"""Write the project's own demo songs into data/demo/*.mid (deterministic).

These short songs are the default training data of train.py: small enough to
learn in a minute, varied enough to hear the model pick a style. Every groove
below is written by hand as a drum tab (see encoding.bars_to_tab): one row per
drum, one column per 16th note, `-` a rest and a hit played as a drummer would:
`X` an accent, `x` a normal hit, `o` a ghost note (velocity levels 7, 5 and 2 of
encoding.py's 8). Each song also has a timing: most sit on the grid, the rock beat's
snare is laid back (a ninth of a step late) and the half-time groove swings its
16th notes (every second 16th a third of a step late, as triplets).

Each is a whole song, with a beginning and an ending: it starts with a crash on the one,
plays its groove in phrases of 4 or 8 bars (each ending in a fill, the next starting with a
crash), and after the last fill ends on one hit of crash, snare and kick, left to ring for a bar. There
are twelve, a long and a short song on each of the six grooves, so that train.py holds out
whole songs for validation (corpus.split_songs, 10 songs or more) and the model trains on
whole songs, their ends included: `generate.py --song` plays until the model ends the song.

    python data/make_demo.py        # rewrites data/demo/ and data/parts/ (byte-identical each run)

It also writes two parts for generate.py to play (data/parts/, not training data): the rock beat
as a drum machine plays it, every hit at velocity 100 on the grid (for --humanize), and a kick
and snare part alone (for --keep kick,snare).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import encoding  # noqa: E402

# ----------------------------------------------------------------------------
# Grooves (one bar each) and fills

ROCK = """
HH |X-x-X-x-X-x-X-x-|
SD |----X------oX---|
BD |x-------x-x-----|
"""
ROCK_B = """
OH |--------------x-|
HH |X-x-X-x-X-x-X---|
SD |----X--o----X--o|
BD |x-x-----x-x-----|
"""
DOUBLE_KICK = """
CR |X---x---X---x---|
SD |----X-------X---|
BD |XxxxXxxxXxxxXxxx|
"""
DOUBLE_KICK_RIDE = """
RD |X-x-X-x-X-x-X-x-|
SD |----X-------X---|
BD |XxxxXxxxXxxxXxxx|
"""
SKANK = """
HH |X-x-X-x-X-x-X-x-|
SD |--X---X---X---X-|
BD |x---x---x---x---|
"""
SKANK_CRASH = """
CR |X---X---X---X---|
SD |--X---X---X---X-|
BD |x---x---x---x---|
"""
HALF_TIME = """
HH |XoxoXoxoXoxoXoxo|
SD |---o----X--o----|
BD |x-----x---x-----|
"""
HALF_TIME_RIDE = """
RD |X-x-X-x-X-x-X-x-|
SD |-o-o----X-o--o--|
BD |x-----x---x--x--|
"""
SEVEN_EIGHT = """
HH |X-x-x-X-x-X-x-|
SD |----X-----X---|
BD |x-x-----x-x---|
"""
WALTZ = """
RD |X---x---x---|
SD |----o---o---|
BD |x-----------|
"""

FILL_TOMS = """
SD |Xxxx------------|
MT |----Xx-x--------|
LT |--------Xx-x----|
FT |------------XxX-|
BD |x-----------x---|
"""
FILL_SNARE = """
SD |----X---oxxxXxxX|
HH |X-x-X-x---------|
BD |x-------x---x---|
"""
FILL_SEVEN = """
SD |Xx-Xx---------|
MT |------Xx------|
FT |--------Xx-Xx-|
BD |x-----------x-|
"""
FILL_WALTZ = """
SD |--Xx--------|
LT |------Xx----|
FT |--------XxX-|
BD |x-----------|
"""


LEVELS = {"X": 7, "x": 5, "o": 2}   # velocity level of an accent, a hit, a ghost note


def bar(tab):
    """A one-bar tab -> the bar as steps, each a dict {class: velocity level}."""
    steps = None
    for line in tab.strip().splitlines():
        label, _, cells = line.strip().partition(" ")
        cells = cells.strip().strip("|")
        steps = steps or [{} for _ in cells]
        k = encoding.TAB_LABELS.index(label)
        for step, cell in zip(steps, cells):
            if cell in LEVELS:
                step[k] = LEVELS[cell]
    return steps


def crash_on_the_one(steps):
    """The same bar with an accented crash and kick on its first step (a new section starts);
    the crash replaces the hi-hat or ride there."""
    first = {k: v for k, v in steps[0].items() if k not in (2, 7)}
    first.update({0: 7, 8: 7})
    return [first] + steps[1:]


def phrase(groove, fill, n_bars, alternate=None):
    """n_bars: crash on the one, the groove (alternating with another), a fill last."""
    grooves = [bar(groove), bar(alternate or groove)]
    bars = [grooves[i % 2] for i in range(n_bars - 1)] + [bar(fill)]
    bars[0] = crash_on_the_one(bars[0])
    return bars


def on_the_grid(place, k):
    return 0


def laid_back_snare(place, k):
    return 1 if k == 1 else 0        # the snare a ninth of a step late


def swung_16ths(place, k):
    return 3 if place % 2 else 0     # every second 16th a third of a step late: triplets


def song(bars, timing):
    """Bars of {class: level} steps -> (bars of masks, feel) for encoding.bars_to_midi."""
    masks = [[sum(encoding.class_bit(k) for k in step) for step in b] for b in bars]
    feel = [[tuple((step[k], timing(place, k)) for k in sorted(step)) for place, step in enumerate(b)]
            for b in bars]
    return masks, feel


def last_bar(n_steps):
    """A song's last bar: the last hit, crash, snare and kick together on the one (the one place
    the three play at once), left to ring (n_steps steps)."""
    return [{0: 7, 1: 7, 8: 7}] + [{} for _ in range(n_steps - 1)]


def ending(bars):
    """A whole song: its bars (the last a fill), then the last bar, as long as the others."""
    return bars + [last_bar(len(bars[-1]))]


# (file name, tempo in bpm, timing, bars): a long and a short song on each groove
SONGS = [
    ("rock_8ths", 112, laid_back_snare, ending(phrase(ROCK, FILL_SNARE, 8, ROCK_B) * 2 + phrase(ROCK, FILL_TOMS, 8))),
    ("rock_8ths_short", 120, laid_back_snare, ending(phrase(ROCK_B, FILL_TOMS, 4)
     + phrase(ROCK, FILL_SNARE, 8, ROCK_B))),
    ("double_kick_metal", 170, on_the_grid, ending(phrase(DOUBLE_KICK, FILL_TOMS, 8)
     + phrase(DOUBLE_KICK_RIDE, FILL_SNARE, 8) + phrase(DOUBLE_KICK, FILL_TOMS, 8))),
    ("double_kick_short", 180, on_the_grid, ending(phrase(DOUBLE_KICK_RIDE, FILL_SNARE, 4)
     + phrase(DOUBLE_KICK, FILL_TOMS, 8))),
    ("thrash_skank", 210, on_the_grid, ending(phrase(SKANK, FILL_SNARE, 8) + phrase(SKANK_CRASH, FILL_TOMS, 8)
     + phrase(SKANK, FILL_TOMS, 8))),
    ("thrash_skank_short", 200, on_the_grid, ending(phrase(SKANK_CRASH, FILL_SNARE, 4) + phrase(SKANK, FILL_TOMS, 8))),
    ("half_time", 90, swung_16ths, ending(phrase(HALF_TIME, FILL_TOMS, 8) + phrase(HALF_TIME_RIDE, FILL_SNARE, 8))),
    ("half_time_short", 84, swung_16ths, ending(phrase(HALF_TIME_RIDE, FILL_TOMS, 8))),
    ("seven_eight", 150, on_the_grid, ending(phrase(SEVEN_EIGHT, FILL_SEVEN, 4) * 4)),
    ("seven_eight_short", 160, on_the_grid, ending(phrase(SEVEN_EIGHT, FILL_SEVEN, 4) * 2)),
    ("waltz_3_4", 120, on_the_grid, ending(phrase(WALTZ, FILL_WALTZ, 8) * 2)),
    ("waltz_3_4_short", 132, on_the_grid, ending(phrase(WALTZ, FILL_WALTZ, 4) * 2)),
]

KICK_SNARE = """
SD |----x-------x---|
BD |x-------x-x-----|
"""
KICK_SNARE_B = """
SD |----x-------x--x|
BD |x-x-----x-x-----|
"""

# (file name, tempo in bpm, bars): flat parts, every hit at one velocity on the grid
PARTS = [
    ("rock_flat", 112, phrase(ROCK, FILL_SNARE, 8, ROCK_B)),
    ("kick_snare", 112, [bar(KICK_SNARE), bar(KICK_SNARE_B)] * 4),
]


def write_parts(folder):
    os.makedirs(folder, exist_ok=True)
    for name, bpm, steps in PARTS:
        path = os.path.join(folder, name + ".mid")
        bars = song(steps, on_the_grid)[0]                   # the hits alone: no feel
        encoding.write_atomic(path, encoding.midi_to_bytes(encoding.bars_to_midi(bars, bpm=bpm)))
        print(f"{path}: {len(bars)} bars at {bpm} bpm, every hit at velocity 100 on the grid")


def main():
    write_parts(os.path.join(os.path.dirname(os.path.abspath(__file__)), "parts"))
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo")
    os.makedirs(folder, exist_ok=True)
    total = 0
    for name, bpm, timing, steps in SONGS:
        path = os.path.join(folder, name + ".mid")
        bars, feel = song(steps, timing)
        encoding.write_atomic(path, encoding.midi_to_bytes(encoding.bars_to_midi(bars, bpm=bpm, feel=feel)))
        print(f"{path}: {len(bars)} bars at {bpm} bpm")
        total += len(bars)
    print(f"{len(SONGS)} songs, {total} bars")


if __name__ == "__main__":
    main()
