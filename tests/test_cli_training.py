"""The CLI's training commands: their shared flags build the TrainConfig, and a flag left out keeps the
config's default (or, when resuming, the run's own setting)."""

import pytest

from artcnn import cli, cli_training
from artcnn.config import TrainConfig


def config_of(arguments: list[str]) -> TrainConfig:
    return cli_training._train_config(cli.build_parser().parse_args(arguments))  # noqa: SLF001


@pytest.mark.parametrize("command", [["train", "data", "run"], ["finalize", "data", "model.keras"], ["crossval", "data"]])
def test_every_training_command_builds_the_same_config_from_the_same_flags(command):
    assert config_of(command) == TrainConfig()
    assert config_of([*command, "--recipe", "seed", "--epochs", "3", "--no-dropout", "--weights", "none",
                      "--seed", "7"]) == TrainConfig(recipe="seed", epochs=3, dropout=False, weights=None, seed=7)
    assert config_of([*command, "--balance-sources"]) == TrainConfig(balance_sources=True)
    assert config_of([*command, "--statistics-weight", "0"]) == TrainConfig(statistics_weight=0.0)


def test_only_commands_that_test_during_training_take_test_flags():
    assert config_of(["train", "data", "run", "--early-stopping", "2"]).early_stopping == 2
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["crossval", "data", "--early-stopping", "2"])
