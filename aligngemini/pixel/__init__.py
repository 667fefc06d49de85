"""The pixel-artifact branch: a conventional vision backbone trained on the pixel dataset
(real images vs. their autoencoder reconstructions) to spot decoder traces.

- `config`: `PixelConfig` (params.yaml key `pixel`); cheap to import;
- `backbones`: the `BACKBONES` registry (`efficientnet_lite0`, `timm_vit_lora`);
- `model`: `PixelExpert` (backbone + normalisation) and `build_expert`;
- `augment`, `crops`, `data`: DDA-style paired augmentation, crop geometry, pairs and
  their torch Dataset;
- `train`: `train_pixel_expert`, `evaluate`;
- `infer`: `p_fake` with the multi-crop rule;
- `checkpoint`: `save_checkpoint`, `load_checkpoint` (safetensors + JSON).

Submodules are imported where used, so reading params never imports torch.
"""
