"""Workflows: files in, tables and result folders out; the only layer that combines packages.

Compare observers, evaluate models on stimulus sets, build and align ClickMe maps, make
metamer sets and analyse their recognisability, fetch published stimulus sets, run
sweeps of all of these on a Dask cluster, and the demo. Each name is imported on
first use, so ``import psychoalign.workflows`` does not import torch.
"""

from psychoalign._lazy import lazy_attributes

#: Public name -> the module that defines it.
_HOMES = {
    "align_clickmaps": "psychoalign.workflows.clickmaps",
    "build_clickmaps": "psychoalign.workflows.clickmaps",
    "open_human_maps": "psychoalign.workflows.clickmaps",
    "COMPARE_FILES_STEPS": "psychoalign.workflows.compare",
    "FileComparison": "psychoalign.workflows.compare",
    "PipelineResult": "psychoalign.workflows.compare",
    "compare_files": "psychoalign.workflows.compare",
    "compare_humans_and_models": "psychoalign.workflows.compare",
    "curve_trials": "psychoalign.workflows.compare",
    "DATASETS_URL_ENVIRONMENT": "psychoalign.workflows.datasets",
    "PublishedSet": "psychoalign.workflows.datasets",
    "fetch_stimulus_set": "psychoalign.workflows.datasets",
    "published_stimulus_sets": "psychoalign.workflows.datasets",
    "DEMO_N_BOOT": "psychoalign.workflows.demo",
    "DEMO_SEED": "psychoalign.workflows.demo",
    "published_demo_sets": "psychoalign.workflows.demo",
    "run_demo": "psychoalign.workflows.demo",
    "summary_table": "psychoalign.workflows.demo",
    "RUN_FILE": "psychoalign.workflows.evaluation",
    "evaluate": "psychoalign.workflows.evaluation",
    "unit_key": "psychoalign.workflows.evaluation",
    "make_metamer_set": "psychoalign.workflows.metamers",
    "ANOVA_TABLE_COLUMNS": "psychoalign.workflows.published_metamers",
    "OBSERVER_GROUPS": "psychoalign.workflows.published_metamers",
    "RECOGNISABILITY_COLUMNS": "psychoalign.workflows.published_metamers",
    "PublishedRecognisability": "psychoalign.workflows.published_metamers",
    "published_recognisability": "psychoalign.workflows.published_metamers",
    "read_recognisability_matrices": "psychoalign.workflows.published_metamers",
    "metamer_recognisability_analysis": "psychoalign.workflows.metamers",
    "SWEEP_LEDGER": "psychoalign.workflows.sweeps",
    "SWEEP_TABLE": "psychoalign.workflows.sweeps",
    "SweepResult": "psychoalign.workflows.sweeps",
    "sweep": "psychoalign.workflows.sweeps",
    "SWEEP_TASKS": "psychoalign.workflows.sweep_plan",
    "SweepPlan": "psychoalign.workflows.sweep_plan",
    "SweepPlanError": "psychoalign.workflows.sweep_plan",
    "SweepUnit": "psychoalign.workflows.sweep_plan",
    "plan_from_options": "psychoalign.workflows.sweep_plan",
    "read_plan": "psychoalign.workflows.sweep_plan",
}

__all__ = sorted(_HOMES)
__getattr__ = lazy_attributes(__name__, _HOMES)
