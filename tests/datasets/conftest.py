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
