import numpy as np
import pytest

from artcnn.mistakes import cell_counts, read_mistakes
from tests.builders import write_finished_run

# Tile probabilities of kom for each test artwork (4 tiles each): han0 right, han2 barely wrong,
# kom2 confidently wrong, kom1 right.
P_KOM = {"han0.png": 0.1, "han2.png": 0.6, "kom2.png": 0.02, "kom1.png": 0.9}


def test_cells_list_every_test_artwork_and_losses_put_the_most_confident_mistake_first(tmp_path):
    mistakes = read_mistakes(write_finished_run(tmp_path, P_KOM))

    assert mistakes.cells == {("han", "han"): ["han0.png"], ("han", "kom"): ["han2.png"],
                              ("kom", "han"): ["kom2.png"], ("kom", "kom"): ["kom1.png"]}
    assert cell_counts(mistakes) == [[1, 1], [1, 1]]
    assert [mistake.artwork for mistake in mistakes.top_losses] == ["kom2.png", "han2.png"]
    worst = mistakes.top_losses[0]
    assert worst.loss == pytest.approx(-np.log(0.02)) and worst.predicted == "han"
    assert len(worst.tiles) == 4 and all(tile["file"].endswith(".png") for tile in worst.tiles)
    assert (tmp_path / "dataset" / worst.tiles[0]["tile"]).is_file()


def test_a_run_without_results_or_without_a_test_split_is_told_in_words(tmp_path):
    run = write_finished_run(tmp_path, P_KOM, metrics={})
    with pytest.raises(ValueError, match="has no test split"):
        read_mistakes(run)
    (run / "metrics.json").unlink()
    with pytest.raises(ValueError, match="has no results yet"):
        read_mistakes(run)
    with pytest.raises(ValueError, match="not a run folder"):
        read_mistakes(tmp_path / "dataset")
