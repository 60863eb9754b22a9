"""Where a run's reward model puts the game's reward events: the learned reward at each step
around the steps where the true reward is nonzero (in Pong, a point lost or won), averaged over
the segments the run stored for its labels.

A model that has learned what the labels say dips at a lost point and rises at a won one. A model
that only learned which segments contain a lost point spreads the penalty over them, and pays
what comes after (Pong's pause with no ball on screen): an agent can collect that by losing.

    python scripts/reward_event_profile.py runs/prefrl-Pong-v0__... --window 8 --last 1000

Scores with the run's last checkpointed reward model (members' normalised rewards averaged, as the
agent was paid). Prints the profile and writes `reward_event_profile.png` into `--out` (default:
the run folder).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def event_profiles(learned: list[np.ndarray], true: list[np.ndarray], window: int) -> dict[str, np.ndarray]:
    """Mean learned reward at offsets -window..window from each step whose true reward is negative
    ("loss") or positive ("gain"), over per-segment reward arrays; NaN at offsets no event reaches.
    Also "count" of events per sign, "quiet": the mean learned reward over segments with no event,
    and "quiet_sd": the standard deviation of those segments' summed learned reward (how much a
    stretch of play in which nothing happens is paid more or less: the noise an event's signal
    competes with)."""
    offsets = np.arange(-window, window + 1)
    sums = {name: np.zeros(len(offsets)) for name in ("loss", "gain")}
    hits = {name: np.zeros(len(offsets)) for name in ("loss", "gain")}
    count = {"loss": 0, "gain": 0}
    quiet = []
    for r, t in zip(learned, true):
        events = np.flatnonzero(t)
        if not len(events):
            quiet.append(r)
        for e in events:
            name = "loss" if t[e] < 0 else "gain"
            count[name] += 1
            at = e + offsets
            inside = (at >= 0) & (at < len(r))
            sums[name][inside] += r[at[inside]]
            hits[name][inside] += 1
    with np.errstate(invalid="ignore"):
        out = {name: np.where(hits[name] > 0, sums[name] / np.maximum(hits[name], 1), np.nan) for name in sums}
    out["offsets"] = offsets
    out["count"] = np.array([count["loss"], count["gain"]])
    out["quiet"] = np.array(np.concatenate(quiet).mean() if quiet else np.nan)
    out["quiet_sd"] = np.array(np.std([r.sum() for r in quiet]) if len(quiet) > 1 else np.nan)
    return out


def signal_and_noise(prof: dict[str, np.ndarray], length: int) -> str:
    """One line: what the profiled steps around each kind of event sum to above the quiet level
    (the signal), against the spread of quiet segments' sums (the noise); n/a where a figure has
    no data."""
    def window_sum(name: str) -> str:
        above = prof[name] - prof["quiet"]
        if np.isnan(above).all():
            return "n/a"
        return f"{np.nansum(above):+.3f} over {int((~np.isnan(above)).sum())} steps"

    sd = float(prof["quiet_sd"])
    return (f"signal and noise: around a negative event the learned reward sums to {window_sum('loss')} above "
            f"the quiet level, around a positive one to {window_sum('gain')}; segments without events "
            f"({length} steps) sum to values with sd {'n/a' if np.isnan(sd) else f'{sd:.3f}'}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path, help="run folder written by `prefrl train` (its checkpoint and preferences.sqlite)")
    p.add_argument("--window", type=int, default=8, help="steps before and after each event to profile")
    p.add_argument("--last", type=int, default=None,
                   help="use only the segments of the newest this-many labels (the agent's late behaviour); default all")
    p.add_argument("--out", type=Path, default=None, help="folder for the plot (default: the run folder)")
    args = p.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from probe_reward import load_reward_model

    from prefrl.preferences import PreferenceStore

    try:
        if args.window < 1 or (args.last is not None and args.last < 1):
            raise ValueError("--window and --last must be positive")
        if not (args.run_dir / "preferences.sqlite").is_file():
            raise ValueError(f"{args.run_dir} has no preferences.sqlite; give a run folder written by `prefrl train`")
        config, kind, model = load_reward_model(args.run_dir)
        if kind != "atari":
            raise ValueError(f"{args.run_dir} learned {config.env}, whose true reward is nonzero at almost "
                             f"every step; reward_event_profile is for games with sparse rewards (Atari; for "
                             f"MuJoCo: scripts/probe_reward.py)")
        with PreferenceStore(args.run_dir / "preferences.sqlite") as store:
            labels = store.comparisons()[-args.last:] if args.last else store.comparisons()
            segments = store.segments({c.left_id for c in labels} | {c.right_id for c in labels})
        if not segments:
            raise ValueError(f"{args.run_dir} holds no labels yet; profile a run that has asked for some")
    except ValueError as exc:
        print(f"reward_event_profile: error: {exc}", file=sys.stderr)
        return 2
    segs = [segments[i] for i in sorted(segments)]
    learned = [model.predict_reward(s.obs, s.acts.astype(np.float32)) for s in segs]
    prof = event_profiles(learned, [s.true_rewards for s in segs], args.window)
    n_loss, n_gain = prof["count"]
    print(f"{config.env}: {len(segs)} labelled segments, {n_loss} steps with negative true reward, "
          f"{n_gain} with positive; mean learned reward in segments with neither: {float(prof['quiet']):+.4f}")
    print(signal_and_noise(prof, len(segs[0].true_rewards)) + "\n")
    print("| offset from the event (steps) | learned reward around a negative event | around a positive one |")
    print("|---:|---:|---:|")
    for k, lo, hi in zip(prof["offsets"], prof["loss"], prof["gain"]):
        print(f"| {k:+d} | {lo:+.4f} | {hi:+.4f} |")

    from prefrl.plotting import plt, save_figure  # pyplot with the Agg backend set

    out = args.out or args.run_dir
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(prof["offsets"], prof["loss"], "o-", color="tab:red", label=f"negative true reward ({n_loss})")
    if n_gain:
        ax.plot(prof["offsets"], prof["gain"], "o-", color="tab:green", label=f"positive true reward ({n_gain})")
    ax.axhline(float(prof["quiet"]), color="grey", ls="--", lw=0.8, label="segments without events")
    ax.axvline(0, color="black", lw=0.6)
    ax.set(xlabel="steps from the event (0: the step the true reward marks)", ylabel="learned reward per step",
           title=f"{config.env}: learned reward around reward events")
    ax.legend()
    print(f"\nwrote {save_figure(fig, out / 'reward_event_profile.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
