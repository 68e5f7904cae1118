"""benchmarks/bench_lstm.py still runs: one tiny size, one round, numpy only (speed is never asserted)."""
import importlib.util
import os
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..")


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_lstm", os.path.join(ROOT, "benchmarks", "bench_lstm.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_benchmark_prints_a_row_per_size(monkeypatch, capsys):
    bench = load_bench()
    monkeypatch.setattr(bench, "SIZES", [(2, 8, 3, 4)])
    monkeypatch.setattr(bench, "matmul_peak", lambda: 1e9)          # the real one multiplies 4096^2 matrices
    monkeypatch.setattr(sys, "argv", ["bench_lstm.py", "--rounds", "1", "--seconds", "0", "--no-torch",
                                      "--sample-words", "5"])
    bench.main()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("2 x 8")]
    assert len(rows) == 1
    words_per_s, mfu, gemm_only, peak_mib, sample_per_s = rows[0].split("|")[1].split()
    assert float(words_per_s) > 0 and float(sample_per_s) > 0 and mfu.endswith("%")


def test_model_flops_counts_each_product_three_times():
    bench = load_bench()
    L, H, N, T, V = 2, 8, 3, 4, bench.V
    recurrent = 2 * (T * N) * H * (4 * H)                            # one (TN, H) @ (H, 4H) product
    decoder = 2 * (T * N) * H * V
    # forward, backward-to-input and weight gradient: Wh in both layers, Wx in layer 1 only (layer 0 is a
    # lookup), and the decoder
    assert bench.model_flops(L, H, N, T) == 3 * (2 * recurrent + recurrent + decoder)



def test_compare_feel_prints_both_ratios(monkeypatch, capsys):
    bench = load_bench()
    monkeypatch.setattr(bench, "SIZES", [(2, 8, 3, 4)])
    monkeypatch.setattr(sys, "argv", ["bench_lstm.py", "--compare-feel", "--rounds", "2", "--seconds", "0",
                                      "--sample-words", "5"])
    bench.main()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("2 x 8")]
    assert len(rows) == 1 and rows[0].count("x |") == 1 and rows[0].endswith("x")
