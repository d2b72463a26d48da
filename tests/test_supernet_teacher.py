"""bench/supernet_teacher.py's table (issue 26): the gap to the mean of the networks trained
alone, with the seeds' range; a network not trained alone (``--skip-alone``) shows ``-`` for
the stand-alone top-1 and the gap, not ``nan``."""

from __future__ import annotations

from bench.supernet_teacher import table


def test_the_table_shows_the_gap_to_the_network_trained_alone() -> None:
    rows = [{"network": "22222222", "macs": 26_400_000, "score": 54.3, "alone": 57.6,
             "benchmark": 92.95}]
    assert table(rows).splitlines()[2] == "| 22222222 | 92.95 | 26.4 M | 54.3 % | 57.6 % | +3.3 |"


def test_a_network_not_trained_alone_shows_a_dash_not_nan() -> None:
    rows = [{"network": "largest", "macs": 1_500_000, "score": 97.4, "alone": None,
             "benchmark": None}]
    assert table(rows).splitlines()[2] == "| largest | - | 1.5 M | 97.4 % | - | - |"


def test_several_seeds_alone_show_their_mean_and_range_and_the_gap_to_the_mean() -> None:
    rows = [{"network": "12120210", "macs": 15_200_000, "score": 51.9, "alone": 55.833,
             "alone_runs": [58.2, 54.7, 54.6], "benchmark": 92.23}]
    assert table(rows).splitlines()[2] == ("| 12120210 | 92.23 | 15.2 M | 51.9 % | "
                                           "55.8 % (54.6-58.2) | +3.9 |")
