"""Evaluation of the detectors: scores in, metrics, plots and a report out (no Prefect).

- `config`: `EvaluationConfig` (params.yaml key `evaluation`): the robustness grid;
- `perturb`: the `PERTURBATIONS` registry (`jpeg`, `resize`, `blur`), `condition_name`,
  `apply`, `conditions`;
- `metrics`: `binary_metrics` (balanced accuracy, AP, ROC AUC; None where undefined) and
  `roc_points`;
- `summary`: `summarise` (a scores DataFrame to an `Evaluation`) and the evaluation `SETS`;
- `report`: `write_report` (a self-contained HTML report with PNG figures).
"""
