"""Speed of the RTRBM at the paper's bouncing-balls size (900 visibles, 400 hiddens).

* one training update (inference, CD-k for all B*T steps as one batch, BPTT, SGD step) on a mini-batch
  of B sequences of T frames; the median over ``--updates`` after two warm-up updates, with the flops/s
  of its matmuls as a fraction of a float32 matmul measured in the same run;
* generation (Algorithm 3) in frames a second, ``--gibbs`` Gibbs steps a frame, for 1 sequence (the
  studio's live view) and for ``--seqs`` at once.

The data is random sparse binary frames: the time of an update does not depend on what the pixels show.

    python benchmarks/rtrbm_speed.py --threads 2
"""
from __future__ import annotations

import argparse
import statistics
import time

from _common import machine, matmul_peak, result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kind", default="rtrbm", choices=("rtrbm", "trbm"))
    p.add_argument("--visible", type=int, default=900)
    p.add_argument("--hidden", type=int, default=400)
    p.add_argument("--batch", type=int, default=10, help="sequences per update")
    p.add_argument("--frames", type=int, default=100, help="frames per sequence")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--updates", type=int, default=10)
    p.add_argument("--gibbs", type=int, default=25, help="Gibbs steps per generated frame")
    p.add_argument("--gen-frames", type=int, default=200)
    p.add_argument("--seqs", type=int, default=10, help="sequences generated at once, the second figure")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from engine.models import family

    fam = family(args.kind)
    V, H, B, T = args.visible, args.hidden, args.batch, args.frames
    g = torch.Generator().manual_seed(0)
    model = fam.build(fam.config_cls(n_visible=V, n_hidden=H, k=args.k, k_final=0), generator=g)
    x = (torch.rand(B, T, V, generator=g) < 0.1).float()
    model.begin_training(x, g)
    opt = torch.optim.SGD(model.param_groups(0.0), lr=0.001, momentum=0.9)
    times = []
    for i in range(args.updates + 2):
        t = time.perf_counter()
        model.training_step(x, g)
        opt.step()
        model.after_update()
        if i >= 2:
            times.append(time.perf_counter() - t)
    update_s = statistics.median(times)
    # matmuls of an update: W v for inference, 2k-1 in the chains, 1 for the last hidden probabilities,
    # 2 for the weight gradient, each 2*B*T*V*H flops (the recurrent (B,H)x(H,H) products are negligible)
    flops = (1 + 2 * args.k - 1 + 1 + 2) * 2 * B * T * V * H
    peak = matmul_peak()

    def gen_rate(n: int) -> float:
        gen = torch.Generator().manual_seed(1)
        for _ in model.generate(n, 5, args.gibbs, generator=gen):
            pass
        t = time.perf_counter()
        for _ in model.generate(n, args.gen_frames, args.gibbs, generator=gen):
            pass
        return n * args.gen_frames / (time.perf_counter() - t)

    result({"kind": args.kind, "size": f"{V}x{H}", "batch": f"{B} sequences x {T} frames", "k": args.k,
            "update_s": round(update_s, 4), "update_s_min": round(min(times), 4),
            "frames_per_s_train": round(B * T / update_s, 1),
            "matmul_fraction_of_peak": round(flops / update_s / peak, 3), "peak_gflops": round(peak / 1e9, 1),
            "gibbs_per_frame": args.gibbs, "gen_frames_per_s_1seq": round(gen_rate(1), 1),
            f"gen_frames_per_s_{args.seqs}seqs": round(gen_rate(args.seqs), 1), **machine()})


if __name__ == "__main__":
    main()
