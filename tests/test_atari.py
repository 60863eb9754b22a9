"""The Atari environment type: preprocessing, masks, the endless stream, replayable clips, and
bounded memory of pixel segments."""

import numpy as np
import pytest

from prefrl.preferences import Answer, PreferenceStore
from prefrl.reward.dataset import PreferenceDataset
from prefrl.segments import SegmentBuffer, SegmentCollector, is_stacked_view
from prefrl_envs import ATARI_GAMES, AtariStream, task_info
from prefrl_envs.atari import GAME_OVER_PENALTY, MASKS, STATE_BYTES, save_mask_preview


def play(env, steps, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        yield env.step(int(rng.integers(env.action_space.n)))


def test_preprocessing_shapes_and_a_continuous_frame_stack():
    env = AtariStream("Pong")
    obs, info = env.reset(seed=0)
    assert obs.shape == (84, 84, 4) and obs.dtype == np.uint8
    assert info["render_state"].shape == (STATE_BYTES,)
    prev = obs
    for obs, reward, terminated, truncated, info in play(env, 50):
        np.testing.assert_array_equal(obs[..., :-1], prev[..., 1:])  # the stack shifts by one frame
        prev = obs
    assert prev.std() > 0  # real pixels, not a blank screen
    info = task_info("prefrl/Pong-v0")
    assert (info.kind, info.default_segment_length, info.state_dtype) == ("atari", 25, np.uint8)
    env.close()


@pytest.mark.parametrize("game", ["Pong", "Breakout"])
def test_masked_score_area_is_constant_while_the_score_changes(game):
    env = AtariStream(game)
    env.reset(seed=1)
    before_raw, before_masked = env.ale.getScreenRGB(), env.render()
    changed = False
    for _, _, _, _, info in play(env, 3000, seed=1):
        if info["game_reward"] != 0:
            changed = True
            break
    assert changed, f"no point scored in {game} within 3000 random steps"
    for _ in play(env, 5):  # let the score digits redraw
        pass
    after_raw, after_masked = env.ale.getScreenRGB(), env.render()
    for top, bottom, left, right in MASKS[game]:
        assert not np.array_equal(before_raw[top:bottom, left:right], after_raw[top:bottom, left:right])
        assert (after_masked[top:bottom, left:right] == 0).all()
        np.testing.assert_array_equal(before_masked[top:bottom, left:right], after_masked[top:bottom, left:right])
    env.close()


def test_no_terminal_signal_and_the_game_over_penalty():
    env = AtariStream("Breakout")
    env.reset(seed=0)
    game_overs = 0
    prev = None
    for obs, reward, terminated, truncated, info in play(env, 6000, seed=2):
        assert not terminated and not truncated
        if prev is not None:
            np.testing.assert_array_equal(obs[..., :-1], prev[..., 1:])  # play runs on across the reset
        prev = obs
        if info["game_over"]:
            game_overs += 1
            assert reward == info["game_reward"] - GAME_OVER_PENALTY["Breakout"]
            assert "game_score" in info
        else:
            assert reward == info["game_reward"]
        if game_overs == 2:
            break
    assert game_overs == 2
    assert GAME_OVER_PENALTY["Pong"] == 0 and all(GAME_OVER_PENALTY[g] > 0 for g in ATARI_GAMES if g != "Pong")
    env.close()


def test_a_game_nobody_serves_is_cut_off_without_penalty(monkeypatch):
    import prefrl_envs.atari as atari

    monkeypatch.setattr(atari, "MAX_GAME_FRAMES", 400)  # 100 agent steps instead of 27,000
    env = AtariStream("Breakout")
    env.reset(seed=0)
    ends = []
    for step in range(250):
        obs, reward, terminated, truncated, info = env.step(0)  # NOOP: the ball is never served
        assert not terminated and not truncated
        if info["game_over"]:
            ends.append(step)
            assert info["game_cut_off"] and reward == 0.0 and info["game_score"] == 0.0
    assert ends == [99, 199]
    env.close()


def test_replayed_clip_frames_match_the_screen_that_was_played():
    env = AtariStream("SpaceInvaders")
    env.reset(seed=0)
    states, actions = [], []
    for step in range(30):
        action = step % env.action_space.n
        _, _, _, _, info = env.step(action)
        states.append(info["render_state"])
        actions.append(action)
    shown = env.render()
    frames = list(env.replay_frames(np.stack(states), np.array(actions, np.float32)[:, None]))
    assert len(frames) == 30 * 4  # every emulator frame: 60 per second
    np.testing.assert_array_equal(frames[-1], shown)
    env.close()


def test_mask_preview_writes_one_image(tmp_path):
    path = tmp_path / "masks.png"
    save_mask_preview(path, games=("Pong", "Enduro"), steps=20)
    assert path.stat().st_size > 1000


def _stream_segments(n_steps, length=25, n_envs=2, seed=0):
    """Synthetic consecutive frame stacks, as an endless Atari stream yields them."""
    rng = np.random.default_rng(seed)
    stack = rng.integers(0, 255, (n_envs, 84, 84, 4), dtype=np.uint8)
    for _ in range(n_steps):
        stack = np.concatenate([stack[..., 1:], rng.integers(0, 255, (n_envs, 84, 84, 1), dtype=np.uint8)], -1)
        yield stack


def test_pixel_segments_are_stored_once_per_frame_and_survive_the_store(tmp_path):
    buffer = SegmentBuffer(8, 25, (84, 84, 4), np.uint8, 1, 16, np.uint8, frame_stack=4)
    collector = SegmentCollector(buffer, 2)
    for obs in _stream_segments(60):
        collector.observe(obs, np.zeros(2), np.ones(2), np.zeros(2, bool), np.zeros((2, 16), np.uint8))
    assert buffer.nbytes < 8 * 25 * 84 * 84 * 4 / 3  # frames kept once, not four times
    a, b = buffer.get(0), buffer.get(1)
    assert is_stacked_view(a.obs)
    with PreferenceStore(tmp_path / "p.sqlite") as store:
        store.add_comparisons([(a, b)], [Answer.LEFT], "oracle")
        back = store.segments([0, 1])
    np.testing.assert_array_equal(back[0].obs, a.obs)
    np.testing.assert_array_equal(back[1].obs, b.obs)
    assert (tmp_path / "p.sqlite").stat().st_size < 2 * 28 * 84 * 84 * 1.2 + 200_000


def test_memory_caps_hold_on_a_long_stream():
    """Ring buffer and label FIFO stay at their caps however long the stream runs."""
    buffer = SegmentBuffer(16, 25, (84, 84, 4), np.uint8, 1, 0, np.uint8, frame_stack=4)
    collector = SegmentCollector(buffer, 2)
    data = PreferenceDataset(3, np.random.default_rng(0), max_size=10)
    size = buffer.nbytes
    rng = np.random.default_rng(1)
    for t, obs in enumerate(_stream_segments(2500)):
        if collector.observe(obs, np.zeros(2), np.zeros(2), np.zeros(2, bool), None) and len(buffer) >= 2:
            ids = buffer.live_ids()
            a, b = rng.choice(ids, 2, replace=False)
            data.add([(buffer.get(a), buffer.get(b))], [Answer.LEFT])
    assert buffer.next_id == 2 * 2500 // 25 and len(buffer) == 16 and buffer.nbytes == size
    assert len(data) == 10 and data.n_segments <= 20
    obs = data.tensors()["seg_obs"]
    assert tuple(obs.shape[1:]) == (25, 84, 84, 4)
    # one preallocated row of distinct frames per segment the FIFO can hold, reused, never grown
    assert obs.untyped_storage().nbytes() <= (2 * 10 + 2) * 28 * 84 * 84 and data._obs.shape[0] == 2 * 10 + 2


def test_label_fifo_reuses_the_rows_of_forgotten_segments_for_new_frames():
    buffer = SegmentBuffer(64, 25, (84, 84, 4), np.uint8, 1, 0, np.uint8, frame_stack=4)
    collector = SegmentCollector(buffer, 1)
    for obs in _stream_segments(64 * 25, n_envs=1):
        collector.observe(obs, np.zeros(1), np.zeros(1), np.zeros(1, bool), None)
    data = PreferenceDataset(2, np.random.default_rng(0), max_size=3)
    segs = [buffer.get(i) for i in range(64)]
    pairs = [(segs[2 * i], segs[2 * i + 1]) for i in range(32)]
    for pair in pairs:  # one label at a time, as a run asks them
        data.add([pair], [Answer.RIGHT])
    t = data.tensors()
    assert len(data) == 3 and data.n_segments == 6
    assert data._obs.shape == (2 * 3 + 2, 28, 84, 84)  # never grown: freed rows took the new frames
    for (left, right), a, b in zip(pairs[-3:], t["left"].tolist(), t["right"].tolist()):
        np.testing.assert_array_equal(t["seg_obs"][a].numpy(), left.obs)
        np.testing.assert_array_equal(t["seg_obs"][b].numpy(), right.obs)


def test_many_pixel_segments_are_scored_in_bounded_chunks():
    from prefrl.reward.ensemble import CHUNK_BYTES, chunk_slices

    per_segment = 25 * 84 * 84 * 4  # one Atari segment as uint8 stacks
    slices = chunk_slices(1000, per_segment)
    assert sum(s.stop - s.start for s in slices) == 1000 and slices[-1].stop == 1000
    assert all((s.stop - s.start) * per_segment <= CHUNK_BYTES for s in slices)
    assert chunk_slices(5, 1) == [slice(0, 5)]
