"""prefrl: deep reinforcement learning from human preferences (Christiano et al. 2017).

The loop: the agent's rollouts are cut into segments; pairs the reward ensemble disagrees on go to
a teacher; the ensemble learns from the answers (Bradley-Terry); PPO optimises the learned reward.
"""

__version__ = "0.1.0"
