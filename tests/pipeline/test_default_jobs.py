"""`pipeline run` without --jobs: one job per core on the CPU profiles, one training at a time for paper."""
import os

from pipeline.commands.run import default_jobs


def test_cpu_profiles_default_to_one_job_per_core_and_paper_to_one():
    assert default_jobs("tiny") == default_jobs("smoke") == (os.cpu_count() or 1)
    assert default_jobs("paper") == 1
