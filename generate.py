"""generate.py: new drum tracks from a trained checkpoint, at several diversities.

    python generate.py                                     # runs/default/best.npz, 16 bars, 5 diversities
    python generate.py runs/metallica/best.npz --bars 32 --diversity 0.8 1.0 --bpm 160
    python generate.py --primer data/demo/rock_8ths.mid --meter 4/4 --seed 7
    python generate.py runs/metallica/best.npz --song      # until the model ends the song
    python generate.py runs/styles/best.npz --style jazz --fills 4   # a style, a fill every 4th bar

For each diversity (the sampling temperature: low is safe and repetitive, high is
adventurous) it writes a words file, a MIDI file (GM drums, channel 10) and a WAV to listen
to, prints a drum tab of the first bars, and compares the track's statistics with the
training corpus's.

Whole bars by default: the sampler (lstm_drums.sample_bars) never lets the model close a bar
early (BAR is masked out before the bar's last step) and closes it itself at the end (16
steps in 4/4, or --meter). With --free the model places BAR itself (then only an empty bar
is refused). The story, top to bottom: the settings and the primer; the WAV's drum kit;
the job (generate(): what it reads, what it plans, one track); its checks and tables; the
command line.
"""
import argparse
import collections
import io
import json
import os
import sys
import wave
import zlib
from fractions import Fraction

import mido
import numpy as np

import corpus
import encoding
import lstm_drums as lstm

DIVERSITIES = [0.5, 0.8, 1.0, 1.25, 1.5]   # the seed's five
DEFAULT_CKPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs", "default", "best.npz")
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
MAX_BARS = 10_000                          # per track: over 5 hours of 4/4 at 120 bpm
MAX_SONG_BARS = 512                        # --song's cap unless --bars says otherwise
MAX_DIVERSITY = 100.0                      # beyond, sampling is uniform in all but name
MAX_SEEDS = 1000                           # takes per diversity
MAX_PARTICLES = 1024                       # candidate takes around a kept part


class GenerateError(Exception):
    """Bad input for generation: reported in one line, exit code 1."""


def meter_steps(meter):
    """'4/4' -> 16 steps, '3/4' -> 12, '7/8' -> 14, '5/16' -> 5; GenerateError otherwise."""
    try:
        num, den = (int(x) for x in meter.split("/"))
        steps = Fraction(num * 16, den)
    except (ValueError, ZeroDivisionError):
        raise GenerateError(f"--meter {meter!r}: want NUM/DEN, e.g. 4/4 or 7/8") from None
    if num <= 0 or den <= 0 or steps.denominator != 1 or not 1 <= steps <= encoding.MAX_BAR_STEPS:
        raise GenerateError(f"--meter {meter}: a bar must be a whole number of 16th notes (1..256)")
    return int(steps)


def read_primer(path):
    """A primer file -> its words up to its last BAR (whole bars only), and their feel ids
    (S, 18) (None for a words file without a feel file beside it)."""
    if not os.path.exists(path):
        raise GenerateError(f"{path}: no such primer file")
    songs = corpus.read_songs(path)                        # CodecError, naming the file, if unusable
    words, feel = (songs[0].words, songs[0].feel) if songs else ([], None)
    if encoding.BAR in words:
        words = words[:len(words) - words[::-1].index(encoding.BAR)]
    if not words:
        raise GenerateError(f"{path}: the primer holds no words")
    return words, (None if feel is None else feel[:len(words)])


def output_name(out, seed, diversity, fingerprint):
    """out/groove_seed{S}_div{D}_{F}: seed and diversity to read, and F, 8 hex digits that
    stand for everything else that shapes the track (the checkpoint's weights, bars, meter,
    tempo, primer, --free, velocity, --flat). Same name, same track: a name is only ever reused for
    identical content, and different settings never overwrite each other's files."""
    return os.path.join(out, f"groove_seed{seed}_div{diversity:g}_{fingerprint:08x}")


# ----------------------------------------------------------------------------
# Hear it without a DAW: a small drum synthesiser, bars -> 16-bit mono WAV at 44.1 kHz

SAMPLE_RATE = 44100


def _sweep(f_start, f_end, seconds, decay):
    """A sine whose pitch falls fast from f_start to f_end Hz, then holds, decaying: (samples, t)."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    freq = f_end + (f_start - f_end) * np.exp(-t * 30)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    return np.sin(phase) * np.exp(-t / decay), t


def _noise(rng, seconds, decay, bright=1):
    """Decaying white noise, its low end removed by `bright` first differences: (samples, t)."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    n = rng.uniform(-1, 1, len(t) + bright)
    for _ in range(bright):
        n = np.diff(n)                                                   # each difference removes low end
    return n / np.abs(n).max() * np.exp(-t / decay), t


def _metal(freqs, t):
    return sum(np.sign(np.sin(2 * np.pi * f * t)) for f in freqs) / len(freqs)   # square partials


def _cymbal(rng, seconds, decay, bright, hiss, ring, freqs, ring_decay):
    n, t = _noise(rng, seconds, decay, bright)
    return hiss * n + ring * _metal(freqs, t) * np.exp(-t / ring_decay)


# The sound of each drum class, by name (encoding.DRUM_CLASSES), from its seeded noise source:
# float samples in -1..1, each starting at full attack on its first sample (so a hit is heard
# exactly on its step). Kick and toms are a falling sine (lower tom, lower pitch); snare, hi-hats
# and cymbals are noise (a hi-hat's low end removed, closed short and open long), ride and crash
# with inharmonic partials. A new class in encoding.DRUM_CLASSES needs its line here.
VOICE_RECIPES = {
    "kick": lambda rng: _sweep(150, 48, 0.5, 0.12)[0],
    "snare": lambda rng: 0.5 * _sweep(220, 180, 0.25, 0.05)[0] + 0.7 * _noise(rng, 0.25, 0.06)[0],
    "closed hi-hat": lambda rng: 0.5 * _noise(rng, 0.08, 0.015, bright=2)[0],
    "open hi-hat": lambda rng: 0.5 * _noise(rng, 0.5, 0.15, bright=2)[0],
    "low floor tom": lambda rng: 0.9 * _sweep(120, 82, 0.5, 0.15)[0],
    "low tom": lambda rng: 0.9 * _sweep(160, 110, 0.5, 0.15)[0],
    "hi-mid tom": lambda rng: 0.9 * _sweep(220, 150, 0.5, 0.15)[0],
    "ride": lambda rng: _cymbal(rng, 1.0, 0.4, 2, 0.25, 0.2, [520, 807, 1163], 0.3),        # ping and wash
    "crash": lambda rng: _cymbal(rng, 1.5, 0.5, 1, 0.55, 0.15, [341, 589, 937, 1401], 0.25),
}
_unvoiced = [name for name in encoding.CLASS_NAMES if name not in VOICE_RECIPES]
if _unvoiced:
    raise ImportError(f"generate.py: no voice for the drum class {_unvoiced[0]!r} of encoding.DRUM_CLASSES: "
                      "add its line to VOICE_RECIPES")
VOICES = [VOICE_RECIPES[name](np.random.default_rng(k)) for k, name in enumerate(encoding.CLASS_NAMES)]  # seeded
TAIL_SECONDS = max(len(v) for v in VOICES) / SAMPLE_RATE  # the longest ring after the last step (1.5 s)


def bars_to_wav(bars, bpm=120.0, velocity=100, feel=None):
    """Song -> the bytes of a WAV file: 16-bit mono at 44.1 kHz, the track's length plus the
    longest voice's decay (TAIL_SECONDS). A hit of class k on step s starts at s * 60/bpm/4 s,
    at a loudness of velocity/127; with the song's feel (as bars_to_midi takes it), each hit
    at its own level's velocity and moved by its offset (offset/9 of a step; not before 0)."""
    step_samples = SAMPLE_RATE * 60.0 / bpm / encoding.STEPS_PER_BEAT
    n_steps = sum(len(bar) for bar in bars)
    audio = np.zeros(int(round(n_steps * step_samples)) + int(TAIL_SECONDS * SAMPLE_RATE))
    s = 0
    for b, bar in enumerate(bars):
        for j, mask in enumerate(bar):
            classes = [k for k in range(encoding.N_CLASSES) if mask & encoding.class_bit(k)]
            levels = feel[b][j] if feel is not None else [None] * len(classes)
            for k, level in zip(classes, levels):
                gain, start = velocity / 127, s
                if level is not None:
                    gain = encoding.level_to_velocity(level[0]) / 127
                    start = max(0.0, s + level[1] / encoding.OFFSET_LEVELS)
                start = int(round(start * step_samples))
                voice = VOICES[k]
                audio[start:start + len(voice)] += gain * voice[:len(audio) - start]
            s += 1
    audio = np.tanh(audio)                                      # a soft limit: hits that pile up never clip
    pcm = (audio * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


# ----------------------------------------------------------------------------
# The job: what it reads, what it plans, and one track

# Every setting of a run of generate.py, as main() reads them from the command line. flat: every hit on
# its step at `velocity`, as a drum machine (the feel a feel model draws is still drawn, so the words are
# the same, and then dropped). song: play until the model ends the song (END), n_bars being the cap.
# style: a style the checkpoint knows (None: each track draws one as the training data would, by its
# share of the words); fills k > 0: a fill every k-th bar (of a part too).
# Playing the user's part: humanize, a file whose hits are kept and played with the model's feel
# (or True with keep: redraw the kept drums' feel too); keep, drum names ("kick,snare" or "BD,SD")
# whose hits stay the part's (the --primer's, or humanize's file) while the model writes the
# others; particles, the candidate takes written side by side around the kept drums
# (lstm_drums.play_around). seeds: takes per diversity (seeds seed, seed + 1, ...). form: with song,
# the checkpoint's form head may play a bar of the song again, whole (lstm_drums section 12).
Settings = collections.namedtuple(
    "Settings", "n_bars diversities seed bpm out primer meter free velocity flat song tab_bars style fills "
                "humanize keep seeds particles form",
    defaults=(16, DIVERSITIES, 1337, 120.0, DEFAULT_OUT, None, None, False, 100, False, False, 4, None, 0,
              None, None, 1, 32, False))

# What generate() reads, once: the checkpoint (its path and load_checkpoint's dict), the settings,
# the primer's words and feel ids (S, 18) (None without feel), and the bar length in steps.
# With a part to play (--humanize, --keep): its words and feel ids, and the kept classes' bits (0: humanise).
Job = collections.namedtuple("Job", "path checkpoint settings primer_words primer_feel bar_steps part keep",
                             defaults=(None, 0))

# One planned track: its diversity, its style (a name, or None), how to sample it (a
# lstm_drums.Sampling), its own random stream, and its files' path without the extension.
Track = collections.namedtuple("Track", "diversity style how rng base")


def generate(ckpt_path, settings=Settings(), log=print):
    """The whole job: one track per diversity, each written as words (and their feel), MIDI
    and WAV. Returns the summary dict printed as the last line."""
    job = read_job(ckpt_path, settings)
    log(describe(job))
    os.makedirs(settings.out, exist_ok=True)
    results = [play_track(job, track, log) for track in plan_tracks(job)]
    return summarise(job, results, log)


def read_job(ckpt_path, settings):
    """What the job reads: the settings checked, the checkpoint, the primer; GenerateError
    (or CodecError, CheckpointError) naming the first thing that is wrong, before any file is written."""
    s = settings
    if s.bpm is None:                                         # a part plays at its own tempo, else 120
        part = part_path(s) if s.humanize or s.keep else None
        s = s._replace(bpm=part_bpm(part) if part and os.path.isfile(part) else 120.0)
    check_settings(s.seed, s.n_bars, s.diversities, s.bpm, s.velocity, s.seeds)  # before any file is read or written
    if not os.path.exists(ckpt_path):
        raise GenerateError(f"{ckpt_path}: no such checkpoint (train one first: python train.py)")
    checkpoint = lstm.load_checkpoint(ckpt_path, vocab=encoding.VOCAB)  # CheckpointError if it is not one of ours
    if s.song and not learned_song_ends(checkpoint):
        raise GenerateError(f"{ckpt_path}: this model never learned where songs end (trained with --compat, or on "
                            "a few songs' heads): use --bars N for a fixed length")
    check_style(ckpt_path, checkpoint, s.style, s.fills)
    if s.form and not (s.song and checkpoint["config"]["form_head"]):
        raise GenerateError(f"{ckpt_path}: this model has no form head (train it on whole songs with this train.py)"
                            if s.song else "--form: with --song only")
    if s.humanize or s.keep:
        return read_part_job(ckpt_path, checkpoint, s)
    primer_words, primer_feel = read_primer(s.primer) if s.primer else ([encoding.BAR], None)
    if s.meter is not None:
        bar_steps = meter_steps(s.meter)
    elif s.primer:                                            # the metre goes on from the primer's last bar
        bar_steps = len(encoding.words_to_bars(primer_words)[-1])
    else:
        bar_steps = 16                                        # 4/4
    return Job(ckpt_path, checkpoint, s, primer_words, primer_feel, bar_steps)


def read_part_job(ckpt_path, checkpoint, s):
    """read_job for a part to play (--humanize, --keep): the part's words and feel, the kept bits."""
    path = part_path(s)
    if path is None:
        raise GenerateError("give the part to play: --humanize FILE, or --primer FILE with --keep or --humanize")
    if s.humanize and not checkpoint["config"]["feel"]:
        raise GenerateError(f"--humanize: {ckpt_path} learned no feel (trained with --feel 0, or on data "
                            "without it): it cannot play a part's velocities and timing")
    for flag, given in (("--song", s.song), ("--free", s.free)):
        if given:
            raise GenerateError(f"{flag} and {'--humanize' if s.humanize else '--keep'}: the part says the bars")
    if s.flat and not s.keep:
        raise GenerateError("--flat and --humanize: a humanised part without its feel is the part itself")
    if not os.path.exists(path):
        raise GenerateError(f"{path}: no such file")
    part = corpus.read_songs(path)[0]                       # CodecError, naming the file, if unusable
    if encoding.BAR not in part.words:
        raise GenerateError(f"{path}: no bars to play (no BAR in its words)")
    keep = keep_bits(s.keep) if s.keep else 0
    if keep and not 1 <= s.particles <= MAX_PARTICLES:
        raise GenerateError(f"--particles {s.particles}: want 1..{MAX_PARTICLES} candidate takes")
    bar_steps = len(encoding.words_to_bars(part.words)[0])
    return Job(ckpt_path, checkpoint, s, [encoding.BAR], None, bar_steps, part, keep)


def part_path(s):
    """The file whose part is played: --humanize FILE's, else the --primer's (None if neither)."""
    return s.humanize if isinstance(s.humanize, str) else s.primer


def part_bpm(path):
    """The tempo of a part: a MIDI file's first set_tempo in bpm (120 without one, as MIDI has it;
    120 for a words file, which has none)."""
    if not path.lower().endswith((".mid", ".midi", ".smf")):
        return 120.0
    tempos = [m.tempo for track in encoding.read_midi(path).tracks for m in track if m.type == "set_tempo"]
    return round(mido.tempo2bpm(tempos[0]), 3) if tempos else 120.0


def keep_bits(names):
    """'kick,snare' or 'BD,SD' -> the classes' bits (encoding.class_bit); GenerateError for an
    unknown name, or for none or every drum kept."""
    known = {n.lower(): k for k, n in enumerate(encoding.TAB_LABELS)} | {n: k for k, n in enumerate(encoding.CLASS_NAMES)}
    wanted = [n.strip().lower() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise GenerateError(f"--keep {unknown[0]!r}: not a drum; want tab names ({','.join(encoding.TAB_LABELS)}) "
                            f"or class names ({', '.join(encoding.CLASS_NAMES)})")
    bits = sum({encoding.class_bit(known[n]) for n in wanted})
    if bits == 0 or bits == (1 << encoding.N_CLASSES) - 1:
        raise GenerateError(f"--keep {names}: keep some of the drums, not {'none' if bits == 0 else 'all'} of them")
    return bits


def describe(job):
    """The first line printed: the model, and what it is asked for."""
    s, model_config = job.settings, job.checkpoint["config"]
    return (f"{job.path}: {model_config['layers']} x {model_config['hidden']} LSTM, "
            f"{model_config['inputs']} inputs" + (", feel" + (" (dropped: --flat)" if s.flat else "")
                                                  if model_config["feel"] else ", no feel (a flat grid)")
            + (f"; a song ({shortest_song(job.checkpoint)} to {s.n_bars} bars" + (
                ", the form head choosing the bars to play again and the end)" if s.form else ")")
               if s.song else
               f"; the part's {len(encoding.words_to_bars(job.part.words))} bars" if job.part else f"; {s.n_bars} bars")
            + f" of {job.bar_steps} steps" + (" (model places BAR: --free)" if s.free else "")
            + (f", after the primer's {len(job.primer_words)} words" if s.primer and not job.part else "")
            + (f"; {len(model_config['styles'])} styles" if model_config["styles"] else "")
            + (f"; a fill every {s.fills} bars" if s.fills else "") + describe_part(job))


def describe_part(job):
    """What describe says of a part to play, or nothing."""
    if job.part is None:
        return ""
    if not job.keep:
        return f"; humanising {job.part.name}"
    kept = [label for k, label in enumerate(encoding.TAB_LABELS) if job.keep & encoding.class_bit(k)]
    return (f"; the drums around {job.part.name}'s {','.join(kept)}"
            + (" (their feel drawn too)" if job.settings.humanize else "")
            + (f", {job.settings.particles} candidate takes" if job.settings.particles > 1 else ", step by step"))


def plan_tracks(job):
    """What the job plans: for each diversity (each once, in the order given) its own random
    streams, its style and its file name."""
    s, styles = job.settings, job.checkpoint["config"]["styles"]
    fingerprint = job_fingerprint(job)
    tracks = []
    for seed in range(s.seed, s.seed + s.seeds):
        for d in dict.fromkeys(s.diversities):
            stream = [seed, int(round(d * 1000))]                       # each diversity its own stream
            style = s.style or (draw_style(job.checkpoint, np.random.default_rng(stream + [1])) if styles else None)
            how = lstm.Sampling(d, job.bar_steps, s.free, s.song, styles.index(style) if style else -1, s.fills, s.form,
                                shortest_song(job.checkpoint), longest_run(job.checkpoint))
            base = output_name(s.out, seed, d, fingerprint)
            tracks.append(Track(d, style, how, np.random.default_rng(stream), base))
    return tracks


def job_fingerprint(job):
    """output_name's F: a CRC-32 of every setting that shapes a track, the primer and the weights."""
    s, feel = job.settings, job.checkpoint["config"]["feel"]
    fingerprint = zlib.crc32(repr([job.bar_steps, s.n_bars, s.bpm, s.velocity, s.free, job.primer_words]
                                  + (["song"] + (["form"] if s.form else []) if s.song else [])
                                  + ([s.style, s.fills] if s.style or s.fills else [])
                                  + ([s.flat, None if job.primer_feel is None else job.primer_feel.tolist()]
                                     if feel else [])
                                  + ([job.part.words, job.keep, bool(s.humanize),
                                      None if job.part.feel is None else job.part.feel.tolist()] if job.part else [])
                                  + ([s.particles] if job.keep else [])
                                  ).encode())
    for p in job.checkpoint["params"].values():
        fingerprint = zlib.crc32(p, fingerprint)                # the weights, without a copy
    return fingerprint


def draw_track(job, track, log):
    """The track's new bars, drawn after the primer: its words, and a feel model's feel ids (S, 18) (else None)."""
    params, model_config = job.checkpoint["params"], job.checkpoint["config"]
    if job.part is not None:                                  # --humanize, --keep: the user's part, played
        ids = encoding.to_ids(job.part.words)
        if job.keep:                                          # with --humanize the kept hits' feel is drawn too
            kept_feel = None if job.settings.humanize else job.part.feel
            ids, feel_ids, _ = lstm.play_around(params, model_config, ids, track.rng, track.how, job.keep,
                                                kept_feel, job.settings.particles)
        else:
            ids, feel_ids, _ = lstm.play_part(params, model_config, ids, track.rng, track.how)
        return [encoding.VOCAB[i] for i in ids], feel_ids
    primer_ids = encoding.to_ids(job.primer_words)
    ids, feel_ids = lstm.sample_bars(params, model_config, primer_ids, job.settings.n_bars, track.rng, track.how,
                                  job.primer_feel, log)
    return [encoding.VOCAB[i] for i in ids], feel_ids


def play_track(job, track, log):
    """One track: draw it, write its files, print its tab; returns its files and statistics."""
    s = job.settings
    words, feel_ids = draw_track(job, track, log)
    bars = encoding.words_to_bars(words)
    track_feel = None if feel_ids is None or s.flat else corpus.from_feel_ids(words, feel_ids)
    files = write_track(track.base, words, bars, s.bpm, s.velocity, track_feel)
    ended = ("the model ended it" if words[-1] == encoding.END else f"cut at the cap of {s.n_bars} bars") \
        if s.song else None
    log(f"\ndiversity {track.diversity:g}: {files['mid']} ({len(bars)} bars, {len(words)} words"
        + (f"; {ended}" if ended else "")
        + (f"; style {track.style}" + ("" if s.style else ", drawn as the training data would")
           if track.style else "") + ")")
    log(encoding.bars_to_tab(bars[:s.tab_bars], None if track_feel is None else track_feel[:s.tab_bars]))
    stats = corpus.song_stats([words], job.bar_steps)
    if track_feel is not None:
        stats["feel_stats"] = corpus.feel_stats([words], [feel_ids])
    return {"diversity": track.diversity, **files, **stats, **({"ended": ended} if s.song else {}),
            **({"style": track.style} if track.style else {})}


# what reading a record of the training corpus may raise when a checkpoint from elsewhere says
# anything there: the tables then go without the corpus's figures
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def summarise(job, results, log):
    """The tracks' statistics beside the training corpus's; returns the summary dict."""
    trained_on = corpus_facts(job.checkpoint)
    corpus_stats = trained_on.get("stats")
    try:
        if corpus_stats and "bar_lengths" in corpus_stats:     # the corpus's share of bars of this length
            corpus_stats = dict(corpus_stats, well_formed_bars=round(
                corpus_stats["bar_lengths"].get(str(job.bar_steps), 0) / max(corpus_stats["bars"], 1), 4))
        table = corpus.stats_table(results, corpus_stats)
    except MALFORMED:
        corpus_stats, table = None, corpus.stats_table(results, None)
    log("")
    log(table)
    corpus_feel = trained_on.get("feel_stats")
    if job.checkpoint["config"]["feel"] and not job.settings.flat and isinstance(corpus_feel, dict) and corpus_feel:
        try:
            table = feel_table(results, corpus_feel, job.settings.bpm)
        except MALFORMED:
            table = None                                       # (no feel table without the corpus's)
        if table is not None:
            log("")
            log(table)
    return {"files": [r[kind] for kind in ("mid", "wav", "txt", "feel") for r in results if kind in r],
            "corpus": corpus_stats, "outputs": results}


def check_style(ckpt_path, checkpoint, style, fills):
    """GenerateError unless the checkpoint knows the style asked for, and fills if asked."""
    styles = checkpoint["config"]["styles"]
    if style is not None:
        if not styles:
            raise GenerateError(f"--style {style}: {ckpt_path} knows no styles (it was trained on one; "
                                "train on folders of styles or a dataset's info.csv)")
        if style not in styles:
            raise GenerateError(f"--style {style[:40]!r} is not one of the {len(styles)} styles {ckpt_path} knows: "
                                + ", ".join(styles))
    if fills < 0:
        raise GenerateError(f"--fills {fills}: want 0 (none) or a number of bars, e.g. 4")
    if fills and not checkpoint["config"]["fills"]:
        raise GenerateError(f"--fills {fills}: {ckpt_path} learned no fills (its data did not mark any)")


def draw_style(checkpoint, rng):
    """A style drawn as the training data would: in proportion to its words in the training songs."""
    styles = checkpoint["config"]["styles"]
    listed = corpus_facts(checkpoint).get("styles") or []
    listed = listed if isinstance(listed, list) else []
    words = {x.get("name"): x.get("words") for x in listed if isinstance(x, dict)}
    weights = np.array([float(words[name]) if type(words.get(name)) in (int, float) else 0.0 for name in styles])
    weights = np.clip(np.nan_to_num(weights, nan=0.0), 0.0, 1e12) + 1e-9   # (a checkpoint from elsewhere
                                                                             # may say anything here)
    return styles[int(rng.choice(len(styles), p=weights / weights.sum()))]


def corpus_facts(checkpoint):
    """What train.py kept of the training corpus in the checkpoint: a dict ({} if it is not one)."""
    facts = checkpoint["extra"].get("corpus")
    return facts if isinstance(facts, dict) else {}


def shortest_song(checkpoint):
    """The bars of the shortest whole song the model was trained on (1 if its checkpoint does not say):
    --song plays none shorter."""
    bars = corpus_facts(checkpoint).get("song_bars")
    usable = isinstance(bars, list) and bars and all(type(n) is int and n > 0 for n in bars)
    return min(bars) if usable else 1


def longest_run(checkpoint):
    """The most times in a row a training song played one bar (0 if its checkpoint does not say: no
    limit): with --form, the head does not choose a bar again once it has been played that many times."""
    value = corpus_facts(checkpoint).get("longest_run")
    return value if type(value) is int and value > 0 else 0


def learned_song_ends(checkpoint):
    """Whether a checkpoint's model knows END: it is in its vocabulary and its training words."""
    unigram = corpus_facts(checkpoint).get("unigram")
    count = unigram[encoding.END_ID] if isinstance(unigram, list) and len(unigram) > encoding.END_ID else 0
    return type(count) in (int, float) and count > 0


def check_settings(seed, n_bars, diversities, bpm, velocity, seeds=1):
    """GenerateError (or CodecError, for the tempo) naming the first setting out of range."""
    if seed < 0:
        raise GenerateError(f"--seed {seed}: want 0 or more")
    if not 1 <= seeds <= MAX_SEEDS:
        raise GenerateError(f"--seeds {seeds}: want 1..{MAX_SEEDS} takes")
    if not 1 <= n_bars <= MAX_BARS:
        raise GenerateError(f"--bars {n_bars}: want 1..{MAX_BARS} bars")
    if any(not 0 <= d <= MAX_DIVERSITY for d in diversities):
        raise GenerateError(f"--diversity: want 0..{MAX_DIVERSITY:g} (0 = always the likeliest word), "
                            f"got {' '.join(f'{d:g}' for d in diversities)}")
    encoding.check_bpm(bpm)
    if not 1 <= velocity <= 127:
        raise GenerateError(f"--velocity {velocity}: must be 1..127")


def write_track(base, words, bars, bpm, velocity, feel=None):
    """base.txt (the words) and with feel base.feel.txt, base.mid (GM drums, channel 10) and
    base.wav, each written whole (a temporary file, then a rename). Returns the paths by kind."""
    files = {"txt": base + ".txt", "mid": base + ".mid", "wav": base + ".wav"}
    encoding.write_atomic(files["txt"], (" ".join(words) + "\n").encode())
    if feel is not None:
        files["feel"] = encoding.feel_path(files["txt"])
        tokens = encoding.feel_to_tokens(feel, end=words[-1] == encoding.END)
        encoding.write_atomic(files["feel"], (" ".join(tokens) + "\n").encode())
    mid = encoding.bars_to_midi(bars, bpm=bpm, velocity=velocity, feel=feel)
    encoding.write_atomic(files["mid"], encoding.midi_to_bytes(mid))
    encoding.write_atomic(files["wav"], bars_to_wav(bars, bpm=bpm, velocity=velocity, feel=feel))
    return files


def feel_table(results, corpus_feel, bpm):
    """The tracks' feel beside the training corpus's, per drum class that has at least 5% of
    the corpus's hits: velocity mean and spread, accent contrast (on the beats minus off
    them) and the spread of the offsets in milliseconds at this tempo."""
    ms = 60000.0 / bpm / encoding.STEPS_PER_BEAT               # one step, in ms
    hits = {name: (corpus_feel.get(name) or {}).get("hits") or 0 for name in encoding.CLASS_NAMES}
    names = [name for name, n in hits.items() if n and n >= 0.05 * sum(hits.values())]
    short = dict(zip(encoding.CLASS_NAMES, encoding.TAB_LABELS))
    fmt = lambda x, spec: format(x, spec) if x is not None else "-"
    rows = [f"{'feel':>10} " + " ".join(f"{short[n]:>20}" for n in names),
            f"{'':>10} " + " ".join(f"{'vel  sd  acc  off ms':>20}" for _ in names)]
    named = [("corpus", corpus_feel)] + [(f"div {r['diversity']:g}", r.get("feel_stats") or {}) for r in results]
    for label, stats in named:
        cells = []
        for n in names:
            s = stats.get(n) or {}
            off = None if s.get("offset_sd_steps") is None else s["offset_sd_steps"] * ms
            cells.append(f"{fmt(s.get('velocity_mean'), '3.0f'):>4} {fmt(s.get('velocity_sd'), '3.0f'):>3} "
                         f"{fmt(s.get('accent_contrast'), '+4.0f'):>4} {fmt(off, '6.1f'):>6}")
        rows.append(f"{label:>10} " + " ".join(f"{c:>20}" for c in cells))
    return "\n".join(rows)


def parse_args(argv):
    """The command line as Settings' fields (a dict), and the checkpoint; the defaults that depend on
    other flags (the bars of a song, the diversity of a part) filled in."""
    default = Settings._field_defaults                           # written once
    p = argparse.ArgumentParser(
        description="Write new drum tracks (MIDI, WAV and words) from a trained lstm-drums checkpoint.",
        epilog="The last line printed is one JSON object listing the files and their statistics.")
    p.add_argument("checkpoint", nargs="?", default=DEFAULT_CKPT, help="a train.py checkpoint (default: "
                   "runs/default/best.npz)")
    p.add_argument("--bars", dest="n_bars", metavar="N", type=int, default=None,
                   help=f"bars per track (default {default['n_bars']}); with --song, the most bars a song may "
                        f"have (default {MAX_SONG_BARS})")
    p.add_argument("--song", action="store_true", help="a whole song: play from the first bar until the model "
                   "ends it (a model trained on whole songs, in the metre-aware mode)")
    p.add_argument("--form", action="store_true", help="with --song: the form head plays bars again and ends the song")
    p.add_argument("--diversity", dest="diversities", metavar="D", type=float, nargs="+", default=None,
                   help="sampling temperatures, one track each (default: the seed's five, 0.5 0.8 1.0 1.25 1.5; "
                        "with --humanize or --keep, 1.0; 0 = argmax)")
    p.add_argument("--seed", type=int, default=default["seed"],
                   help="random seed: same seed, same tracks (default %(default)s)")
    p.add_argument("--bpm", type=float, default=None, help="tempo of the MIDI and WAV files (default "
                   f"{default['bpm']:g}; with --humanize or --keep, the part's own)")
    p.add_argument("--velocity", type=int, default=default["velocity"], help="note velocity 1..127 for a model "
                   "without feel, or with --flat (default %(default)s)")
    p.add_argument("--out", default=default["out"], help="output folder (default out/)")
    p.add_argument("--primer", metavar="FILE", help="start from this .mid or words .txt (its whole bars)")
    p.add_argument("--meter", default=default["meter"], help="bar length for the bar mask, e.g. 7/8 (default: "
                   "the primer's last bar, or 4/4 = 16 steps without a primer)")
    p.add_argument("--free", action="store_true", help="let the model place BAR itself (no bar mask)")
    p.add_argument("--flat", action="store_true", help="a drum machine's flat grid: every hit on its step at "
                   "--velocity (a feel model's velocities and timing are dropped)")
    p.add_argument("--style", default=None, help="play in this style, one the checkpoint learned (default: "
                   "each track draws one as the training data would); an unknown name lists the known ones")
    p.add_argument("--fills", type=int, default=default["fills"], metavar="K",
                   help="ask for a fill every K-th bar (a model that learned fills; default 0: none); with a "
                        "part to play, its every K-th bar is a fill (--fills 1: the part is a fill)")
    p.add_argument("--humanize", nargs="?", const=True, metavar="FILE",
                   help="play FILE (.mid or words .txt) as it is, every hit kept, with the model's velocities "
                        "and timing (a feel model); with --keep and no FILE, draw the kept drums' feel too")
    p.add_argument("--keep", metavar="DRUMS", help="keep these drums of the --primer (or --humanize FILE), step "
                   "for step, e.g. kick,snare or BD,SD, and let the model write the others around them")
    p.add_argument("--particles", type=int, default=default["particles"], metavar="K",
                   help="with --keep: write K candidate takes side by side, weighted by how well each explains "
                        "the kept drums still to come, and at each bar line go on from the bar they most agree "
                        "on (default %(default)s; 1: step by step, faster)")
    p.add_argument("--seeds", type=int, default=default["seeds"], metavar="K",
                   help="K takes per diversity, with seeds SEED, SEED+1, ... (default %(default)s)")
    p.add_argument("--tab-bars", type=int, default=default["tab_bars"],
                   help="bars of each track shown as a drum tab (default %(default)s)")
    args = vars(p.parse_args(argv))
    if args["n_bars"] is None:
        args["n_bars"] = MAX_SONG_BARS if args["song"] else default["n_bars"]
    if args["diversities"] is None:                         # a part is played once, at 1.0; new tracks at five
        args["diversities"] = [1.0] if args["humanize"] or args["keep"] else default["diversities"]
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        summary = generate(args.pop("checkpoint"), Settings(**args), log=lambda *a: print(*a, flush=True))
    except (GenerateError, encoding.CodecError, lstm.CheckpointError, OSError) as e:
        print(encoding.error_line(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:                               # the files written so far are whole
        print("interrupted", file=sys.stderr)
        return 130
    print(json.dumps(summary, allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
