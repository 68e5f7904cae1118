"""Drum tabs read back into bars, for tests that write their grooves as tabs (the codec writes tabs,
encoding.bars_to_tab; only the tests read them)."""
import encoding


def tab_to_bars(text):
    """Drum tab text (encoding.bars_to_tab's, any subset of rows, any order) -> song. Any character
    but '-', '.' or ' ' is a hit; '|' separates bars; all rows must agree on the bar lengths."""
    masks = None
    for line in text.strip().splitlines():
        label, _, cells = line.strip().partition(" ")
        if label not in encoding.TAB_LABELS:
            raise encoding.CodecError(f"unknown tab row {label!r} (want one of {' '.join(encoding.TAB_LABELS)})")
        bars = cells.strip().strip("|").split("|")
        masks = masks or [[0] * len(b) for b in bars]                   # the first row sets the bars' lengths
        if [len(b) for b in bars] != [len(m) for m in masks]:
            raise encoding.CodecError(f"tab row {label} has bars of {[len(b) for b in bars]} steps, "
                                      f"not {[len(m) for m in masks]}")
        bit = encoding.class_bit(encoding.TAB_LABELS.index(label))
        for bar_masks, cells_of_bar in zip(masks, bars):
            for i, cell in enumerate(cells_of_bar):
                if cell not in "-. ":
                    bar_masks[i] |= bit
    return masks or []
