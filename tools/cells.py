"""A window into the cells: which units of a trained model follow the music, drawn under a drum tab.

    python tools/cells.py runs/default/best.npz data/demo/rock_8ths.mid          # -> cells.svg
    python tools/cells.py CKPT SONG.txt --line 3 --bars 8 -o song3.svg

Runs the checkpoint over one song (a MIDI file, or a line of a words file) as generate.py
feeds a primer, one word at a time from a zero state, and keeps, at every step t (after
reading word t), each layer's output h_t and cell c_t and its gates. Then, for each of six
things the music does next, it finds the unit whose activation follows it most closely
(the largest |Pearson r| over all layers, h and c):

    place      the place in the bar of the next word (0, 1, 2, ...)
    bar line   the next word is BAR
    kick, snare, hi-hat, crash   the next word plays that drum

and draws the song's first --bars bars as a drum tab (one column per word, BAR a line) with
each chosen unit's activation beneath it, labelled with its layer, index and r (Karpathy,
Johnson & Fei-Fei, "Visualizing and understanding recurrent networks", 2015, did the same
for characters). It prints the best unit of each layer for each of the six. Then a table: for each layer, the share of all its gate values that
are saturated, below 0.1 or above 0.9, for the input, forget and output gates (a gate near
0 or 1 acts as a switch). Both tables are printed too.

To recompute one correlation yourself (for example layer 0's cell 17 and the place):
    import numpy as np, tools.cells as C        # (run from the repository's folder)
    run = C.run_song(CKPT, SONG)
    print(np.corrcoef(run["c"][0][:-1, 17], run["targets"]["place"][:-1])[0, 1])   # [:-1]: the last
                                                # step has no next word, and best_units leaves it out too
"""
import argparse
import html
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import corpus  # noqa: E402
import encoding  # noqa: E402
import lstm_drums as lstm  # noqa: E402

TARGETS = ("place", "bar line", "kick", "snare", "hi-hat", "crash")
CLASS_OF = {short: encoding.CLASS_NAMES.index(name) for short, name in   # class k in encoding.DRUM_CLASSES
            (("kick", "kick"), ("snare", "snare"), ("hi-hat", "closed hi-hat"), ("crash", "crash"))}
GATES = ("input", "forget", "output")                                 # the sigmoid gates: i, f, o


def run_song(ckpt, song, line=1, compat=False, style=None):
    """Run a checkpoint over a song. Returns a dict: words; h and c, per layer (S, H) each, the
    state after reading each word; gates, per layer (S, 4H), activated [i, f, g, o]; and
    targets, {name: (S,)}, what the music does next at each step (the last step has none).
    style: for a model that learned styles, the one to read the song in (None: hidden)."""
    checkpoint = lstm.load_checkpoint(ckpt, vocab=encoding.VOCAB)
    params, model_config = checkpoint["params"], checkpoint["config"]
    read = corpus.read_song(song, line, compat)               # a MIDI file, or a line of a words file
    words, feel = read.words, read.feel
    ids = encoding.to_ids(words)
    styles = model_config.get("styles") or []
    if style is not None and style not in styles:
        raise encoding.CodecError(f"--style {style[:40]!r}: {ckpt} knows " + (", ".join(styles) or "no styles"))
    read = lstm.input_reader(model_config, styles.index(style) if style else -1)  # as generate.py does
    xs, dense = zip(*[read(int(w), None if feel is None else feel[k]) for k, w in enumerate(ids)])
    x = np.array(xs)[:, None]                                            # (S, 1) or (S, 1, 4)
    dense_x = None if dense[0] is None else np.array(dense)[:, None]     # (S, 1, F)
    state = lstm.zero_state(model_config, 1)                            # one stream, a song
    _, _, cache = lstm.model_forward_fast(params, x, state, None, dense_x)
    h = [lc.hs[1:, 0] for lc in cache.layer_caches]                     # (S, H) per layer
    c = [lc.cs[1:, 0] for lc in cache.layer_caches]
    gates = [lc.gates[:, 0] for lc in cache.layer_caches]                # (S, 4H) activated
    _, place = lstm.lookback_sources(ids, encoding.BAR_ID)               # (S,) the next word's place
    nxt = np.append(ids[1:], encoding.BAR_ID)                            # (S,) the next word
    bits = lstm.word_bits(nxt)                                           # (S, 9)
    targets = {"place": place.astype(float), "bar line": (nxt == encoding.BAR_ID).astype(float)}
    targets.update({name: bits[:, k] for name, k in CLASS_OF.items()})
    return {"words": words, "h": h, "c": c, "gates": gates, "targets": targets, "config": model_config}


def correlations(units, target):
    """Pearson r of every column of units (S, K) with target (S,); 0 for a constant column."""
    u = units - units.mean(axis=0)
    t = target - target.mean()
    denom = np.sqrt((u ** 2).sum(axis=0) * (t ** 2).sum())
    return np.where(denom > 0, u.T @ t / np.where(denom > 0, denom, 1), 0.0)


def best_units(run, layer=None):
    """For each target, the unit with the largest |r| (in one layer, or in any):
    {target: (layer, 'h' or 'c', index, r)}. The song's last step (no next word) is left out."""
    found = {}
    layers = range(len(run["h"])) if layer is None else [layer]
    for name in TARGETS:
        target = run["targets"][name][:-1]
        best = None
        for l in layers:
            for kind in ("h", "c"):
                r = correlations(run[kind][l][:-1].astype(np.float64), target)
                j = int(np.argmax(np.abs(r)))
                if best is None or abs(r[j]) > abs(best[3]):
                    best = (l, kind, j, float(r[j]))
        found[name] = best
    return found


def saturation(run):
    """Per layer and sigmoid gate, the share of its values below 0.1 and above 0.9:
    {layer: {gate: (low, high)}}."""
    out = {}
    for layer, g in enumerate(run["gates"]):
        H = g.shape[1] // 4
        blocks = {"input": g[:, :H], "forget": g[:, H:2 * H], "output": g[:, 3 * H:]}
        out[layer] = {name: (float((b < 0.1).mean()), float((b > 0.9).mean())) for name, b in blocks.items()}
    return out


def tables(per_layer, sat):
    """The two tables as text: the best unit of each layer for each target; the gates' saturation."""
    lines = [f"{'follows':<10} " + " ".join(f"{f'layer {l}':<14} {'r':>5}" for l in range(len(per_layer)))]
    for name in TARGETS:
        lines.append(f"{name:<10} " + " ".join(f"{f'{kind}[{j}]':<14} {r:+5.2f}" for _, kind, j, r in
                                               (found[name] for found in per_layer)))
    lines += ["", f"{'layer':<6} " + " ".join(f"{g + ' <0.1':>13} {g + ' >0.9':>13}" for g in GATES)]
    for layer, gates in sat.items():
        lines.append(f"{layer:<6} " + " ".join(f"{gates[g][0]:13.1%} {gates[g][1]:13.1%}" for g in GATES))
    return "\n".join(lines)


def svg(run, found, sat, n_bars=8, cell=9):
    """The picture: a tab of n_bars bars from the first that plays, each chosen unit's
    activation beneath it (each trace scaled to its own range in the window)."""
    all_words = run["words"]
    first = next((k for k, w in enumerate(all_words) if w not in (encoding.BAR, encoding.END, encoding.STEP_WORDS[0])), 0)
    start = max([k + 1 for k, w in enumerate(all_words[:first]) if w == encoding.BAR] or [0])  # its bar's start
    words = all_words[start:]
    bar_ends = [k for k, w in enumerate(words) if w == encoding.BAR]
    S = (bar_ends[n_bars - 1] + 1) if len(bar_ends) >= n_bars else len(words)
    left, top, row = 150, 20, 38
    width = left + S * cell + 20
    labels = encoding.TAB_LABELS
    height = top + 9 * cell + 20 + len(found) * row + 40 + 20 * (len(sat) + 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="monospace" font-size="11">', '<rect width="100%" height="100%" fill="white"/>']
    for k in range(9):                                       # the tab: crash on top, kick at the bottom
        y = top + (8 - k) * cell
        out.append(f'<text x="{left - 8}" y="{y + cell - 1}" text-anchor="end">{labels[k]}</text>')
    for t in range(S):
        x = left + t * cell
        if words[t] == encoding.BAR:
            out.append(f'<line x1="{x + cell / 2}" y1="{top}" x2="{x + cell / 2}" y2="{height - 20 * (len(sat) + 3)}" '
                       'stroke="#bbb"/>')
            continue
        if words[t] == encoding.END:
            continue
        mask = encoding.WORD_ID[words[t]]
        for k in range(9):
            if (mask >> (8 - k)) & 1:
                out.append(f'<rect x="{x + 1}" y="{top + (8 - k) * cell + 1}" width="{cell - 2}" height="{cell - 2}" '
                           'fill="#222"/>')
    y0 = top + 9 * cell + 20
    for n, (name, (layer, kind, j, r)) in enumerate(found.items()):
        y = y0 + n * row
        values = run[kind][layer][start:start + S, j].astype(float)
        lo, hi = values.min(), values.max()
        mid = y + row / 2 - 4
        scale = (row - 10) / max(hi - lo, 1e-9)
        points = " ".join(f"{left + t * cell + cell / 2:.1f},{mid + (row - 10) / 2 - (v - lo) * scale:.1f}"
                          for t, v in enumerate(values))
        out.append(f'<line x1="{left}" y1="{mid}" x2="{left + S * cell}" y2="{mid}" stroke="#ddd"/>')
        out.append(f'<polyline points="{points}" fill="none" stroke="#c33" stroke-width="1.5"/>')
        out.append(f'<text x="{left - 8}" y="{mid - 2}" text-anchor="end">{html.escape(name)}</text>')
        out.append(f'<text x="{left - 8}" y="{mid + 11}" text-anchor="end">L{layer} {kind}[{j}] r={r:+.2f}</text>')
    y = height - 20 * (len(sat) + 1)
    out.append(f'<text x="10" y="{y}">gates saturated (share of values below 0.1 / above 0.9):</text>')
    for n, (layer, gates) in enumerate(sat.items()):
        text = f"layer {layer}: " + ", ".join(f"{g} {gates[g][0]:.0%} / {gates[g][1]:.0%}" for g in GATES)
        out.append(f'<text x="10" y="{y + 18 * (n + 1)}">{html.escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("song", help="a MIDI file, or a words file (.txt) with --line")
    p.add_argument("--line", type=int, default=1, help="which song of a words file (default 1)")
    p.add_argument("--compat", action="store_true", help="encode MIDI with the original's rules")
    p.add_argument("--bars", type=int, default=8, help="bars drawn (the correlations use the whole song)")
    p.add_argument("--style", help="for a model that learned styles: read the song in this one (default: hidden)")
    p.add_argument("-o", "--out", default="cells.svg", help="the SVG file (default cells.svg)")
    args = p.parse_args(argv)
    try:
        run = run_song(args.checkpoint, args.song, args.line, args.compat, args.style)
        if len(run["words"]) < 3:
            raise encoding.CodecError(f"{args.song}: too short to correlate anything")
        found, sat = best_units(run), saturation(run)
        per_layer = [best_units(run, l) for l in range(len(run["h"]))]
        encoding.write_atomic(args.out, svg(run, found, sat, args.bars).encode())
    except (encoding.CodecError, lstm.CheckpointError, OSError) as e:
        print(encoding.error_line(e), file=sys.stderr)
        return 1
    print(f"{args.checkpoint} on {args.song} ({len(run['words'])} words): the units that follow the music")
    print(tables(per_layer, sat))
    print("drawn: " + ", ".join(f"{name} (layer {l} {kind}[{j}])" for name, (l, kind, j, _) in found.items()))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
