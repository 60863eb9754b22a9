import os

os.environ.setdefault("MUJOCO_GL", "egl")

import torch  # noqa: E402

torch.set_num_threads(1)  # small nets on 2 cores: one thread is faster and keeps timings stable
