"""Reconstructing real images through a generator's VAE (the pixel-artifact dataset's fakes)
and measuring how faithful the reconstructions are."""

from aligngemini.reconstruction.crop import crop_to_multiple
from aligngemini.reconstruction.quality import heldout_psnr, psnr
from aligngemini.reconstruction.vae import VAELoadError, clear_vae_cache, image_seed, load_vae, reconstruct

__all__ = [
    "VAELoadError",
    "clear_vae_cache",
    "crop_to_multiple",
    "heldout_psnr",
    "image_seed",
    "load_vae",
    "psnr",
    "reconstruct",
]
