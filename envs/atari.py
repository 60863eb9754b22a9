"""The paper's Atari environment type: seven games from pixels, as one continuous stream of play.

`prefrl/<Game>-v0` (BeamRider, Breakout, Enduro, Pong, Qbert, Seaquest, SpaceInvaders) is the
standard Mnih et al. 2015 preprocessing built directly on the ALE: 0-30 no-op starts, each action
repeated 4 frames with the last two max-pooled, 84x84 grayscale, 4 frames stacked (channels last).
On top of that, as in the paper:

- The score area is blanked (set to black) in the screen before it is downsampled, so neither the
  reward model nor the agent can read the score; also BeamRider's enemy-ship counter and Enduro's
  dashboard (odometer, day and cars-left counter). The same masks are applied to the RGB frames of
  the clips a person compares. `save_mask_preview` writes a frame per game with the masks outlined.
- No life-loss or episode-end signal reaches the agent: when the game is over the emulator is reset
  underneath (with fresh no-ops) and play goes on; `terminated`/`truncated` are always False. The
  frame stack runs on across the reset, so any window of steps is a valid stacked observation.
- The env's reward (what the synthetic oracle and the true-reward baseline see) is the game score
  plus, at the step a game ends, a fixed penalty in that game's points (all games but Pong). The
  step's `info` carries `game_reward` (score only), `game_over` and, at a game end, `game_score`.
  A game is cut off after `MAX_GAME_FRAMES` emulator frames (`info["game_cut_off"]`, no penalty).
- `info["render_state"]` is the emulator state before the step's action, serialized (uint8, padded
  to `STATE_BYTES`): a clip is drawn by restoring it and replaying the action, frame by frame at the
  emulator's 60 frames per second (`replay_frames`).
"""

from __future__ import annotations

import cv2
import gymnasium as gym
import numpy as np
from gymnasium import spaces

ATARI_GAMES = ("BeamRider", "Breakout", "Enduro", "Pong", "Qbert", "Seaquest", "SpaceInvaders")

SCREEN = (210, 160)
FRAME_SKIP = 4
FRAME_SIZE = 84
FRAME_STACK = 4
NOOP_MAX = 30
EMULATOR_FPS = 60
MAX_GAME_FRAMES = 108_000
"""Emulator frames after which a game is cut off and a new one starts (30 minutes of play; the
usual cap, Machado et al. 2018). Without it a policy that never serves (Breakout's FIRE) would
make one game last forever, and an evaluation of it never end."""
STATE_BYTES = 8192
"""Room for one serialized emulator state (about 7.7 kB in ale-py 0.12) plus a 4-byte length."""

MASKS: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    # (top, bottom, left, right) in the 210x160 screen, blanked to black.
    "BeamRider": ((0, 42, 0, 160),),          # score, sector and the enemy-ship counter below them
    "Breakout": ((0, 16, 0, 160),),           # score, lives and player number above the wall
    "Enduro": ((160, 195, 0, 160),),          # the dashboard: odometer, day and cars left to pass
    "Pong": ((0, 24, 0, 160),),               # both scores above the top wall
    "Qbert": ((4, 14, 32, 72),),              # the score, top left (Q*bert jumps through the rows beside it)
    "Seaquest": ((0, 18, 0, 160),),           # score above the surface
    "SpaceInvaders": ((0, 20, 0, 160),),      # both scores
}

GAME_OVER_PENALTY: dict[str, float] = {
    # In each game's own points, roughly the score of a few good moves; Pong has none (the paper).
    "BeamRider": 200.0,
    "Breakout": 10.0,
    "Enduro": 10.0,
    "Pong": 0.0,
    "Qbert": 500.0,
    "Seaquest": 100.0,
    "SpaceInvaders": 100.0,
}


def atari_id(game: str) -> str:
    return f"prefrl/{game}-v0"


def register_atari_games() -> None:
    for game in ATARI_GAMES:
        if atari_id(game) not in gym.registry:
            gym.register(atari_id(game), entry_point="prefrl_envs.atari:AtariStream", kwargs={"game": game})


def apply_mask(screen: np.ndarray, game: str) -> np.ndarray:
    """Blank `game`'s masked areas in a 210x160 screen (grayscale or RGB), in place."""
    for top, bottom, left, right in MASKS[game]:
        screen[top:bottom, left:right] = 0
    return screen


def encode_state(state: bytes) -> np.ndarray:
    if len(state) > STATE_BYTES - 4:
        raise ValueError(f"emulator state of {len(state)} bytes exceeds STATE_BYTES={STATE_BYTES}")
    out = np.zeros(STATE_BYTES, np.uint8)
    out[:4] = np.frombuffer(np.uint32(len(state)).tobytes(), np.uint8)
    out[4:4 + len(state)] = np.frombuffer(state, np.uint8)
    return out


def decode_state(row: np.ndarray) -> bytes:
    row = np.asarray(row, dtype=np.uint8)
    n = int(row[:4].view(np.uint32)[0])
    return row[4:4 + n].tobytes()


class AtariStream(gym.Env):
    """One ALE game as an endless stream of preprocessed play (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": EMULATOR_FPS // FRAME_SKIP}

    def __init__(self, game: str, render_mode: str | None = None, noop_max: int = NOOP_MAX) -> None:
        import ale_py

        if game not in ATARI_GAMES:
            raise ValueError(f"unknown game {game!r}; choose one of {', '.join(ATARI_GAMES)}")
        gym.register_envs(ale_py)
        self.game = game
        self.render_mode = render_mode
        self.noop_max = noop_max
        self.penalty = GAME_OVER_PENALTY[game]
        self._ale_env = gym.make(f"ALE/{game}-v5", frameskip=1, repeat_action_probability=0.0,
                                 full_action_space=False)
        self.ale = self._ale_env.unwrapped.ale
        self._actions = self._ale_env.unwrapped._action_set
        self.action_space = spaces.Discrete(len(self._actions))
        self.observation_space = spaces.Box(0, 255, (FRAME_SIZE, FRAME_SIZE, FRAME_STACK), np.uint8)
        self.dt = FRAME_SKIP / EMULATOR_FPS
        self._stack = np.zeros((FRAME_SIZE, FRAME_SIZE, FRAME_STACK), np.uint8)
        self._pool = np.zeros((2, *SCREEN), np.uint8)
        self._score = 0.0
        self._game_frames = 0

    def get_action_meanings(self) -> list[str]:
        return self._ale_env.unwrapped.get_action_meanings()

    # -- the stream -----------------------------------------------------------------------------
    def _frame(self) -> np.ndarray:
        screen = apply_mask(np.max(self._pool, axis=0), self.game)
        return cv2.resize(screen, (FRAME_SIZE, FRAME_SIZE), interpolation=cv2.INTER_AREA)

    def _push(self, frame: np.ndarray) -> None:
        self._stack[..., :-1] = self._stack[..., 1:]
        self._stack[..., -1] = frame

    def _new_game(self) -> None:
        """Reset the emulator and play 0-`noop_max` no-ops; leaves the newest screen in the pool."""
        self.ale.reset_game()
        for _ in range(int(self.np_random.integers(0, self.noop_max + 1))):
            self.ale.act(self._actions[0])
            if self.ale.game_over():
                self.ale.reset_game()
        self.ale.getScreenGrayscale(self._pool[0])
        self._pool[1] = self._pool[0]
        self._score = 0.0
        self._game_frames = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._ale_env.reset(seed=seed)  # seeds the emulator
        self._new_game()
        frame = self._frame()
        for _ in range(FRAME_STACK):
            self._push(frame)
        return self._stack.copy(), {"render_state": encode_state(self.ale.cloneState().serialize())}

    def step(self, action):
        state = encode_state(self.ale.cloneState().serialize())
        game_reward = 0.0
        ale_action = self._actions[int(action)]
        for k in range(FRAME_SKIP):
            game_reward += self.ale.act(ale_action)
            if k >= FRAME_SKIP - 2:
                self.ale.getScreenGrayscale(self._pool[k - (FRAME_SKIP - 2)])
            if self.ale.game_over():
                if k < FRAME_SKIP - 2:  # ended early: pool what was last on screen
                    self.ale.getScreenGrayscale(self._pool[0])
                    self._pool[1] = self._pool[0]
                break
        self._score += game_reward
        self._game_frames += FRAME_SKIP
        cut_off = not self.ale.game_over() and self._game_frames >= MAX_GAME_FRAMES
        info = {"render_state": state, "game_reward": game_reward, "game_over": self.ale.game_over() or cut_off,
                "game_cut_off": cut_off}
        reward = game_reward
        if info["game_over"]:
            reward -= 0.0 if cut_off else self.penalty  # running out of time is not losing
            info["game_score"] = self._score
            self._new_game()  # underneath: the agent sees play go on
        self._push(self._frame())
        return self._stack.copy(), reward, False, False, info

    # -- drawing --------------------------------------------------------------------------------
    def replay_frames(self, render_states: np.ndarray, actions: np.ndarray, every: int = 1):
        """RGB screens (masked) of a stored stretch of play: from each step's saved state, its
        action replayed frame by frame; every `every`-th emulator frame is yielded."""
        n = 0
        for row, action in zip(render_states, np.asarray(actions).reshape(len(render_states), -1)[:, 0]):
            self.ale.restoreState(_ale_state(decode_state(row)))
            for _ in range(FRAME_SKIP):
                self.ale.act(self._actions[int(action)])
                if n % every == 0:
                    yield apply_mask(self.ale.getScreenRGB(), self.game)
                n += 1

    def render(self):
        return apply_mask(self.ale.getScreenRGB(), self.game)

    def close(self) -> None:
        self._ale_env.close()


def _ale_state(data: bytes):
    import ale_py

    return ale_py.ALEState(data)


def is_atari(env: gym.Env) -> bool:
    return isinstance(env.unwrapped, AtariStream)


def save_mask_preview(path, games=ATARI_GAMES, steps: int = 400, seed: int = 0, scale: int = 2) -> None:
    """One PNG, a column per game after `steps` random steps: on top the raw screen with the masked
    areas outlined in red, below it the masked screen as the reward model and the clips show it."""
    columns = []
    for game in games:
        env = AtariStream(game)
        env.reset(seed=seed)
        for _ in range(steps):
            env.step(env.action_space.sample())
        raw = env.ale.getScreenRGB()
        masked = env.render()
        env.close()
        size = (SCREEN[1] * scale, SCREEN[0] * scale)
        top = cv2.resize(raw, size, interpolation=cv2.INTER_NEAREST)
        for y0, y1, x0, x1 in MASKS[game]:
            cv2.rectangle(top, (x0 * scale, y0 * scale), (x1 * scale - 1, y1 * scale - 1), (255, 0, 0), 2)
        bottom = cv2.resize(masked, size, interpolation=cv2.INTER_NEAREST)
        cv2.putText(bottom, game, (4, size[1] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1)
        columns.append(np.concatenate([top, np.full((4, size[0], 3), 255, np.uint8), bottom], axis=0))
    gap = np.full((columns[0].shape[0], 4, 3), 255, np.uint8)
    sheet = np.concatenate([c for col in columns for c in (col, gap)][:-1], axis=1)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    import sys

    target = sys.argv[1] if len(sys.argv) > 1 else "atari_masks.png"
    save_mask_preview(target)
    print(f"wrote {target}")
