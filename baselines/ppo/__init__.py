"""PPO baselines on Kinetix levels (PureJaxRL-style trainer, level sources, fine-tuning, export).

* :mod:`.config`: typed frozen config, YAML + ``--set`` overrides;
* :mod:`.losses`: GAE and clipped losses;
* :mod:`.levels`: level sources (single, list, bank, SFL buffer);
* :mod:`.update`: ``make_train`` (the compiled update, ``Runner``, ``Transition``);
* :mod:`.train`: ``train`` (the whole run: loop, SFL rescoring, evaluation, snapshots);
* :mod:`.checkpoint`, :mod:`.export`, :mod:`.report`: resume files, submissions, metrics/plots;
* :mod:`.finetune`: the fine-tuning protocol's entry point.
"""

from baselines.ppo.config import ConfigError, TrainConfig, load_config
from baselines.ppo.export import export_submission
from baselines.ppo.finetune import FINETUNE_PPO, finetune
from baselines.ppo.train import list_snapshots, snapshot_path, train
from baselines.ppo.update import make_train

__all__ = [
    "ConfigError",
    "TrainConfig",
    "load_config",
    "make_train",
    "train",
    "snapshot_path",
    "list_snapshots",
    "export_submission",
    "finetune",
    "FINETUNE_PPO",
]
