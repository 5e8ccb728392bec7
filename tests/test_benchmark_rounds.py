"""benchmarks/ios_backup.py reports the ratios of each round beside the ratios of the medians."""

from __future__ import annotations

import pytest
from benchmarks.ios_backup import SizeResult, print_table


def test_ratios_round_by_round(capsys: pytest.CaptureFixture[str]) -> None:
    result = SizeResult(records=100_000, label="100k", messages=80_000, processes=20_000, build_seconds=1.0,
                        backup_mib=39.0, preuve=[2.0, 1.5, 1.6], floor=[0.25, 0.3, 0.2], mvt=[15.0, 14.0, 16.0])
    summary = result.summary()
    assert summary["mvt_over_preuve_rounds"] == [7.5, 14.0 / 1.5, 10.0]
    assert summary["preuve_over_floor_rounds"] == [8.0, 5.0, 8.0]
    assert summary["mvt_over_preuve"] == 15.0 / 1.6
    print_table([result], 0.07, 5713, 3)
    out = capsys.readouterr().out
    assert "100k mvt/preuve: 7.50x / 9.33x / 10.00x" in out
    assert "100k preuve/floor: 5.00x / 8.00x / 8.00x" in out
