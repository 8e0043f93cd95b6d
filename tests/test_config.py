"""Settings read from the environment."""

from __future__ import annotations

import pytest

from trialqa import config
from trialqa.errors import ConfigError


def test_locations_follow_environment(tmp_path, monkeypatch):
    for var in ("TRIALQA_CORPUS", "TRIALQA_INDEX", "TRIALQA_MODEL", "TRIALQA_CACHE", "TRIALQA_MODEL_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert config.model_cache_dir() == tmp_path / "trialqa"
    assert config.cache_dir(tmp_path / "idx") == tmp_path / "idx" / "cache"
    assert config.model_name() == config.DEFAULT_MODEL and config.model_name("x") == "x"
    monkeypatch.setenv("TRIALQA_MODEL_CACHE", str(tmp_path / "m"))
    monkeypatch.setenv("TRIALQA_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("TRIALQA_MODEL", "some/model")
    assert config.model_cache_dir() == tmp_path / "m"
    assert config.cache_dir(tmp_path / "idx") == tmp_path / "c"
    assert config.model_name() == "some/model"


@pytest.mark.parametrize("value, on", [("0", False), ("off", False), ("false", False), ("NO", False),
                                       ("1", True), ("", True), ("yes", True)])
def test_onnx_switch(monkeypatch, value, on):
    monkeypatch.setenv("TRIALQA_ONNX", value)
    assert config.onnx_enabled() is on


def test_max_record_size_is_validated(monkeypatch):
    monkeypatch.setenv("TRIALQA_MAX_RECORD_MB", "0.5")
    assert config.max_record_bytes() == 512 * 1024
    for bad in ("-1", "lots"):
        monkeypatch.setenv("TRIALQA_MAX_RECORD_MB", bad)
        with pytest.raises(ConfigError, match="TRIALQA_MAX_RECORD_MB"):
            config.max_record_bytes()
