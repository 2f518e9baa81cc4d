"""Small synthetic datasets shared by the dataset tests (generated once per session)."""
import pytest

from dsla.datasets.synthetic import generate_dataset


@pytest.fixture(scope="session")
def crowd_dir(tmp_path_factory):
    return generate_dataset(tmp_path_factory.mktemp("synth") / "crowd", preset="crowd",
                            num_images=10, val_fraction=0.2, image_size=128, seed=3, workers=1)


@pytest.fixture(scope="session")
def sparse_dir(tmp_path_factory):
    return generate_dataset(tmp_path_factory.mktemp("synth") / "sparse", preset="sparse",
                            num_images=8, val_fraction=0.25, image_size=128, seed=3, workers=1)


@pytest.fixture(scope="session")
def mmdet_scope():
    """mmdet's registries, mmdet as the default scope (as configs with default_scope='mmdet')."""
    from mmdet.utils import register_all_modules

    import dsla  # noqa: F401  (registers the project's datasets)

    register_all_modules(init_default_scope=True)
