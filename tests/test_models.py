import dataclasses

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from artcnn import storage  # noqa: E402
from artcnn.config import TrainConfig  # noqa: E402
from artcnn import models  # noqa: E402
from artcnn.models import create_model, get_recipe, list_recipes, resolve_recipe  # noqa: E402

SMALL = 32


def small(name: str, **changes):
    return dataclasses.replace(get_recipe(name), input_size=SMALL, **changes)


def describe(layer) -> tuple:
    config = layer.get_config()
    kind = type(layer).__name__
    if kind == "Conv2D":
        return kind, config["filters"], tuple(config["kernel_size"]), config["activation"], config["padding"], \
            config["kernel_initializer"]["class_name"]
    if kind == "MaxPooling2D":
        return kind, tuple(config["pool_size"])
    if kind == "Dropout":
        return kind, config["rate"]
    if kind == "Dense":
        return kind, config["units"], config["activation"]
    return (kind,)


def test_seed_is_the_study_model_layer_by_layer():
    recipe = get_recipe("seed")
    assert (recipe.input_size, recipe.epochs, recipe.batch_size, recipe.test_batch_size, recipe.rotation_deg) == \
        (200, 20, 64, 32, 25.0)
    model = create_model(recipe)
    assert [describe(layer) for layer in model.layers[1:]] == [
        ("Conv2D", 32, (3, 3), "relu", "same", "HeUniform"),
        ("MaxPooling2D", (2, 2)),
        ("Dropout", 0.2),
        ("Flatten",),
        ("Dense", 128, "relu"),
        ("Dropout", 0.5),
        ("Dense", 1, "sigmoid"),
    ]
    assert model.get_layer("dense").get_config()["kernel_initializer"]["class_name"] == "HeUniform"
    assert model.input_shape == (None, 200, 200, 3)
    conv, flat = (3 * 3 * 3 + 1) * 32, 100 * 100 * 32
    assert model.count_params() == conv + (flat + 1) * 128 + (128 + 1) * 1
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.001)
    assert model.optimizer.momentum == pytest.approx(0.9)
    assert model.loss == "binary_crossentropy"


def test_study_switches_dropout_augment_and_batch():
    plain = resolve_recipe(TrainConfig(recipe="seed", dropout=False, augment=False, batch_size=32))
    assert (plain.dropout, plain.augment, plain.rotation_deg, plain.batch_size, plain.test_batch_size) == \
        (False, False, 0.0, 32, 32)
    layers = [type(layer).__name__ for layer in create_model(dataclasses.replace(plain, input_size=SMALL)).layers]
    assert "Dropout" not in layers and layers.count("Dense") == 2
    with_rotation = resolve_recipe(TrainConfig(recipe="seed", batch_size=32))
    assert (with_rotation.dropout, with_rotation.rotation_deg, with_rotation.batch_size) == (True, 25.0, 32)
    assert resolve_recipe(TrainConfig(recipe="seed")).batch_size == 64
    robust = resolve_recipe(TrainConfig(recipe="robust"))
    assert robust.degrade and not resolve_recipe(TrainConfig(recipe="robust", augment=False)).degrade
    assert not resolve_recipe(TrainConfig()).degrade  # default's pipeline keeps tiles as cut
    default = resolve_recipe(TrainConfig(augment=False, epochs=3, learning_rate=0.01))
    assert (default.extra_augment, default.rotation_deg, default.epochs, default.learning_rate) == (False, 0.0, 3, 0.01)


@pytest.mark.parametrize("name, blocks", [("vgg2", 2), ("vgg3", 3)])
def test_vgg_variants_stack_blocks(name, blocks):
    model = create_model(small(name))
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    rates = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert [conv.filters for conv in convs] == [32, 64, 128][:blocks]
    assert rates == [0.2, 0.3, 0.4][:blocks] + [0.5]
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in create_model(small(name, dropout=False)).layers)


@pytest.mark.parametrize("name", ["default", "seed"])
def test_three_classes_get_softmax(name):
    model = create_model(small(name), num_classes=3)
    assert model.output_shape == (None, 3)
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert model.loss == "categorical_crossentropy"
    with pytest.raises(ValueError, match="num_classes must be at least 2"):
        create_model(small(name), num_classes=1)


def test_vgg16_builds_without_weights_and_preprocesses_like_keras():
    model = create_model(small("vgg16"), weights=None)
    assert model.output_shape == (None, 1)
    assert model.get_layer("vgg16").trainable is False
    images = np.random.default_rng(0).random((2, SMALL, SMALL, 3), dtype=np.float32)
    caffe = model.get_layer("vgg16_preprocess")(images)
    np.testing.assert_allclose(caffe, keras.applications.vgg16.preprocess_input(images * 255.0), atol=1e-3)


def test_vgg16_missing_weights_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.h5"
    with pytest.raises(ValueError, match=f"VGG16 weights file not found: {missing}"):
        create_model(small("vgg16"), weights=str(missing))


def test_default_model_file_is_small(tmp_path):
    recipe = get_recipe("default")
    model = create_model(recipe)
    # One step builds Adam's slots, which the saved file carries too.
    model.fit(np.zeros((2, recipe.input_size, recipe.input_size, 3)), np.array([0.0, 1.0]), verbose=0)
    path = storage.save_model(model, tmp_path / "default.keras", {})
    assert path.stat().st_size <= 5 * 1024 * 1024


@pytest.mark.parametrize("name", list_recipes())
def test_every_recipe_loads_in_safe_mode(tmp_path, name):
    model = create_model(small(name), weights=None, seed=1)
    images = np.random.default_rng(1).random((2, SMALL, SMALL, 3), dtype=np.float32)
    path = storage.save_model(model, tmp_path / f"{name}.keras", {"input_size": SMALL})
    loaded, metadata = storage.load_model(path, safe_mode=True)
    assert metadata["input_size"] == SMALL
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-5)


def test_seed_fixes_initial_weights():
    first, again, other = (create_model(small("default"), seed=seed).get_weights()[0] for seed in (5, 5, 6))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_create_model_takes_a_registered_name_and_refuses_others():
    assert create_model("seed").input_shape == (None, 200, 200, 3)
    with pytest.raises(ValueError, match=f"recipe must be one of {', '.join(list_recipes())}. Received: recipe='nope'"):
        create_model("nope")
    assert resolve_recipe(TrainConfig(recipe="seed", input_size=SMALL)).input_size == SMALL
    with pytest.raises(ValueError, match="input_size must be at least 32. Received: input_size=16"):
        TrainConfig(input_size=16)


def defaults_of(name: str) -> dict:
    return {key: value for key, value in dataclasses.asdict(get_recipe(name)).items() if key != "name"}


@pytest.fixture
def throwaway_recipe():
    """A recipe registered for one test (a single dense layer on the pooled image), then removed."""
    name = "tiny"

    @models.register_recipe(name, "one dense layer, for tests", **{
        **defaults_of("default"), "input_size": SMALL, "epochs": 1})
    def tiny(inputs, recipe, seeds, weights):
        pooled = keras.layers.GlobalAveragePooling2D()(inputs)
        return keras.layers.Dense(4, kernel_initializer=keras.initializers.HeUniform(seed=next(seeds)))(pooled)

    yield name
    models._REGISTRY.pop(name)  # noqa: SLF001 - the test's own registration


def test_a_registered_recipe_is_offered_everywhere(throwaway_recipe):
    from artcnn.cli import build_parser

    assert list_recipes()[-1] == throwaway_recipe
    assert models.recipe_descriptions()[throwaway_recipe] == "one dense layer, for tests"
    config = TrainConfig(recipe=throwaway_recipe)
    assert resolve_recipe(config).epochs == 1
    assert create_model(resolve_recipe(config)).count_params() == 3 * 4 + 4 + 4 + 1
    args = build_parser().parse_args(["train", "dataset", "run", "--recipe", throwaway_recipe])
    assert args.recipe == throwaway_recipe
    train_help = build_parser()._subparsers._group_actions[0].choices["train"].format_help()  # noqa: SLF001
    assert "tiny: one dense layer, for tests" in " ".join(train_help.split())
    with pytest.raises(ValueError, match="registered already"):
        models.register_recipe(throwaway_recipe, "again", **defaults_of("default"))(lambda *a: a)
    assert not models.uses_weights(throwaway_recipe)


def test_only_vgg16_asks_for_pretrained_weights():
    assert [name for name in list_recipes() if models.uses_weights(name)] == ["vgg16"]
    with pytest.raises(ValueError, match="Received: recipe='nope'"):
        models.uses_weights("nope")
