"""Live video generation speed: a 900x400 RTRBM, 25 Gibbs steps a frame, one sequence, in frames a second.

    python benchmarks/video_generation.py                 # the figure of issue 4 (target >= 150 frames/s)
    python benchmarks/video_generation.py --threads 1

Generation runs as the studio and the CLI run it: the ``generate_video`` job on an :class:`engine.Engine`,
counting the Frame events a subscriber receives (each frame as a read-only numpy image, with the job's
VideoStarted and throttled Progress events). The model's own ``generate`` loop, with nothing else, runs in
the same process for comparison, alternating with the job so that both see the same machine load; the
``engine_overhead`` is the fraction of the loop's speed that the job loses. Weights are random (or a
checkpoint's, ``--checkpoint``): the time of a Gibbs step does not depend on what the model learned.
"""
from __future__ import annotations

import argparse
import statistics
import time

from _common import machine, result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kind", default="rtrbm", choices=("rtrbm", "trbm"))
    p.add_argument("--visible", type=int, default=900)
    p.add_argument("--hidden", type=int, default=400)
    p.add_argument("--checkpoint", help="use this checkpoint's model instead of random weights")
    p.add_argument("--gibbs", type=int, default=25, help="Gibbs steps per frame")
    p.add_argument("--frames", type=int, default=500, help="frames per timed run")
    p.add_argument("--repeats", type=int, default=5, help="timed runs of each (the median is reported)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from engine import Engine, events as ev, jobs

    engine = Engine(device="cpu")
    if args.checkpoint:
        info = engine.call(jobs.load_model, args.checkpoint)
    else:
        info = engine.call(jobs.create_model, args.kind, {"n_visible": args.visible, "n_hidden": args.hidden},
                           name="bench", seed=args.seed)
    name = info["name"]
    cfg = info["config"]
    module = engine.registry[name].module  # the raw loop below runs while the engine is idle

    counts: dict[int, int] = {}

    def count(e: ev.Event) -> None:
        if isinstance(e, ev.Frame):
            counts[e.job] = counts.get(e.job, 0) + 1

    engine.subscribe(count)

    def through_engine(n: int) -> float:
        t = time.perf_counter()
        h = engine.submit(jobs.generate_video, name, n_frames=n, gibbs_steps=args.gibbs, seed=args.seed)
        video = h.result()
        wall = time.perf_counter() - t
        if counts.get(h.id) != n or video.shape[1] != n:
            raise RuntimeError(f"expected {n} frames, the subscriber saw {counts.get(h.id)}")
        return n / wall

    def raw_loop(n: int) -> float:
        g = torch.Generator().manual_seed(args.seed)
        t = time.perf_counter()
        for _ in module.generate(1, n, args.gibbs, generator=g):
            pass
        return n / (time.perf_counter() - t)

    through_engine(20)  # warm-up: first-call costs of both paths
    raw_loop(20)
    job_fps, raw_fps = [], []
    for i in range(args.repeats):  # alternating which goes first, so that neither gets the quieter moments
        if i % 2:
            raw_fps.append(raw_loop(args.frames))
        job_fps.append(through_engine(args.frames))
        if not i % 2:
            raw_fps.append(raw_loop(args.frames))
    engine.shutdown()

    fps, raw = statistics.median(job_fps), statistics.median(raw_fps)
    print(f"| path | frames/s (median of {args.repeats}) | runs |")
    print(f"| generate_video job, Frame events counted | {fps:.1f} | {', '.join(f'{x:.0f}' for x in job_fps)} |")
    print(f"| model.generate loop alone | {raw:.1f} | {', '.join(f'{x:.0f}' for x in raw_fps)} |")
    result({"fps": round(fps, 1), "fps_best": round(max(job_fps), 1), "raw_generate_fps": round(raw, 1),
            "engine_overhead": round(1 - fps / raw, 3), "target_fps": 150, "kind": info["kind"],
            "size": f"{cfg['n_visible']}x{cfg['n_hidden']}", "gibbs_per_frame": args.gibbs, "sequences": 1,
            "frames": args.frames, "repeats": args.repeats, **machine()})


if __name__ == "__main__":
    main()
