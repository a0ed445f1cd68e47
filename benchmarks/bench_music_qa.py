"""Quality of the synthesised music, per mood and length, for two memories (two seeds).

    .venv/bin/python -m benchmarks.bench_music_qa [--lengths 30 60 90] [--seeds 11 7919] [--moods epic happy]

Issue 13 asked for a different piece per memory with a form and a melody, a loudness range of at
least 4 LU, -16 +- 1 LUFS integrated, and a low end a phone can play. For every mood, length and
seed this prints what independent tools measure on `soundtrack.synthesise`'s output:

- LUFS: integrated loudness by pyloudnorm (BS.1770-4), target settings.TARGET_LUFS;
- LRA: EBU R128 loudness range by ffmpeg's ebur128 filter (`loudness.loudness_range`), >= 4 LU;
- low: the share of power under settings.LOW_END_HZ (150 Hz), kept under 0.45;
- BPM: the tempo the beat tracker (`beats.track`) hears, against the score's;
- synth: seconds to synthesise the track on this machine;
and per mood and length whether the two seeds' audio differs (not byte-identical) and how far
(sample correlation of the two pieces: the same notes with other noise correlate ~0.9).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyloudnorm

from memories.render import beats, loudness, settings, soundtrack


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=sorted(settings.LENGTH_SECONDS.values()))
    parser.add_argument("--seeds", type=int, nargs=2, default=[11, 7919])
    parser.add_argument("--moods", nargs="+", default=list(soundtrack.MOOD_MUSIC))
    args = parser.parse_args()

    meter = pyloudnorm.Meter(settings.SAMPLE_RATE)
    columns = (("mood", "<12"), ("len", ">4"), ("seed", ">6"), ("LUFS", ">7"), ("LRA", ">5"), ("low", ">5"))
    columns += (("BPM", ">6"), ("score", ">5"), ("synth", ">6"))
    header = " ".join(f"{name:{align}}" for name, align in columns)
    print(header)
    print("-" * len(header))
    worst = {"lra": np.inf, "lufs": 0.0, "low": 0.0, "synth90": 0.0}
    for mood in args.moods:
        for length in args.lengths:
            samples = []
            for seed in args.seeds:
                started = time.perf_counter()
                track = soundtrack.synthesise(mood, length, seed=seed)
                seconds = time.perf_counter() - started
                lufs = float(meter.integrated_loudness(track.samples.astype(np.float64)))
                lra = loudness.loudness_range(track.samples, track.sample_rate)
                low = loudness.low_frequency_share(track.samples, track.sample_rate)
                bpm = beats.track(track.samples.mean(axis=1), track.sample_rate).bpm
                print(
                    f"{mood:<12} {length:>4.0f} {seed:>6} {lufs:>7.2f} {lra:>5.1f} {low:>5.2f} "
                    f"{bpm:>6.1f} {track.bpm:>5.0f} {seconds:>5.2f}s"
                )
                worst["lra"] = min(worst["lra"], lra)
                worst["lufs"] = max(worst["lufs"], abs(lufs - settings.TARGET_LUFS))
                worst["low"] = max(worst["low"], low)
                if length >= 90:
                    worst["synth90"] = max(worst["synth90"], seconds)
                samples.append(track.samples)
            differs = not np.array_equal(samples[0], samples[1])
            correlation = float(np.corrcoef(samples[0].mean(axis=1), samples[1].mean(axis=1))[0, 1])
            verdict = "yes" if differs else "NO"
            print(f"{'':<17} seeds differ: {verdict} (correlation {correlation:+.2f})")
    print()
    print(
        f"worst: LRA {worst['lra']:.1f} LU (>= 4), |LUFS - target| {worst['lufs']:.2f} (<= 1), "
        f"low share {worst['low']:.2f} (< 0.45), slowest 90 s synthesis {worst['synth90']:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
