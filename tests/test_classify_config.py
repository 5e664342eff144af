"""The `classify:` configuration section: defaults and validation."""

import copy

import pytest
import yaml

from nettime.config import ConfigError, validate_config


@pytest.fixture
def shipped():
    with open("config/config.yaml") as handle:
        return yaml.safe_load(handle)


def test_shipped_section_is_valid(shipped):
    config = validate_config(shipped)
    assert config["classify"]["n_thresholds"] == 300
    assert config["classify"]["bin_widths"] == [20, 50, 100, 200, 500, 1000]


def test_defaults_fill_a_missing_section(shipped):
    del shipped["classify"]
    config = validate_config(shipped)
    assert config["classify"]["crf"]["lr"] == 1e-4  # the original's rate
    assert config["classify"]["n_thresholds"] == 300


@pytest.mark.parametrize("key, value", [("n_thresholds", 0), ("bin_widths", [0]),
                                        ("label_set", "loose")])
def test_bad_values_are_named(shipped, key, value):
    config = copy.deepcopy(shipped)
    config["classify"][key] = value
    with pytest.raises(ConfigError, match=key):
        validate_config(config)
