"""Fusion of the two branches into one decision, and the fused model that ships both.

- `config`: `FusionConfig` (params.yaml key `fusion`); cheap to import;
- `rules`: the `FUSION_RULES` registry (`or_fixed`, `or_calibrated`, `logistic`),
  `FusionModel` and `fit_fusion`;
- `model_dir`: the fused model folder (`write_fused_model`, `read_model_info`);
- `detector`: `FusedDetector` (both branches plus the fusion, on files or images).

Submodules are imported where used, so reading params never imports torch.
"""
