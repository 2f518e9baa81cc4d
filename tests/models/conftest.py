"""Synthetic crowd data for the end-to-end training tests (generated once per session)."""
import pytest

from dsla.datasets.synthetic import generate_dataset


@pytest.fixture(scope='session')
def smoke_crowd(tmp_path_factory):
    """The pipeline's smoke-profile crowd data: 24 images (18 train, 6 val)."""
    return generate_dataset(tmp_path_factory.mktemp('data') / 'smoke_crowd', preset='crowd',
                            num_images=24, val_fraction=0.25, seed=0, workers=1)


@pytest.fixture(scope='session')
def tiny_crowd(tmp_path_factory):
    """The pipeline's tiny-profile crowd data: 240 images (192 train, 48 val)."""
    return generate_dataset(tmp_path_factory.mktemp('data') / 'tiny_crowd', preset='crowd',
                            num_images=240, val_fraction=0.2, seed=0, workers=2)
