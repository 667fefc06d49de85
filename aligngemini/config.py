"""Typed parameters. `params.yaml` is loaded into these models; an unknown or missing key
fails with a `ConfigError` naming the file and the dotted key. Every field carries help
text (as peft's configs do) so `Params.model_json_schema()` documents the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from aligngemini.config_base import DType, Strict, device_field, dtype_field, revision_field
from aligngemini.datasets.align import resample_reach
from aligngemini.errors import ConfigError
from aligngemini.evaluation.config import EvaluationConfig
from aligngemini.fusion.config import FusionConfig
from aligngemini.model_registry.config import RegistryConfig
from aligngemini.pixel.config import PixelConfig
from aligngemini.semantic.config import SemanticConfig
from aligngemini.service.config import ServiceConfig


class PathsConfig(Strict):
    data_root: str = Field(description="Root of all data; paths read from manifests or users must resolve inside it.")
    models_root: str = Field(description="Root of local model directories built by the bootstrap stage.")
    checkpoints: str = Field(description="Where the branch trainings write their checkpoints, one folder per branch.")
    catalog: str = Field(description="The DuckDB catalog file (one writer: the merge task).")
    staging: str = Field(description="Folder where parallel tasks drop Parquet record shards before the merge.")
    reports: str = Field(description="Folder of the stages' metrics, plots and HTML reports (DVC metrics and plots).")


class ImageLimits(Strict):
    max_pixels: int = Field(gt=0, description="Refuse images with more pixels than this (decompression bombs).")
    max_bytes: int = Field(gt=0, description="Refuse files larger than this many bytes.")
    min_side: int = Field(ge=1, description="Refuse images whose shorter side is below this.")
    animated: Literal["refuse", "first_frame"] = Field(
        description="Animated images (GIF/APNG/WebP with several frames): refuse them, or keep the first frame."
    )
    max_batch_pixels: int = Field(
        default=64_000_000,
        gt=0,
        description="Decoded pixels held at once when files are scored (detect, benchmark; serve's micro-batches too): a batch of files is scored as soon as the next image would take it past this, so memory is bounded by this plus one image of at most max_pixels, however large the files of a folder are.",
    )


class RealSource(Strict):
    name: str = Field(description="Name recorded as the `source` of every image from this source.")
    kind: str = Field(description="Registered source kind: 'embedded' (photos shipped in installed wheels) or 'folder'.")
    path: str | None = Field(default=None, description="Folder to read (kind 'folder' only).")


class IngestConfig(Strict):
    sources: list[RealSource] = Field(min_length=1, description="Where real photographs come from.")
    tile_size: int = Field(gt=0, multiple_of=8, description="Side of the square crops cut from each photo (a multiple of 8 keeps JPEG blocks aligned).")
    tile_stride: int = Field(gt=0, multiple_of=8, description="Step between crops; equal to tile_size for non-overlapping tiles.")


class BootstrapModel(Strict):
    name: str = Field(description="Name of the model directory under models_root.")
    builder: str = Field(description="Registered bootstrap builder that trains and saves this model.")
    resolution: int = Field(gt=0, multiple_of=8, description="Image side the model is trained at.")
    train_steps: int = Field(ge=0, description="Optimiser steps (steps, not seconds, so the result is deterministic).")
    batch_size: int = Field(gt=0, description="Training batch size.")
    learning_rate: float = Field(gt=0, description="AdamW learning rate.")
    seed: int = Field(description="Seed of weights init, crops and noise.")
    options: dict[str, Any] = Field(default_factory=dict, description="Builder-specific options (architecture sizes); see the builder's docstring.")


class BootstrapConfig(Strict):
    captions_file: str = Field(description="Caption corpus for the embedded text encoders' tokenizers and training captions; separate from the prompt bank so new prompts never retrain models.")
    threads: int = Field(gt=0, description="torch intra-op threads; fixed so float results are reproducible.")
    holdout_fraction: float = Field(ge=0, lt=1, description="Share of real photos (by hash) whose tiles no bootstrap model ever sees; the reconstructor's PSNR is measured on them.")
    models: list[BootstrapModel] = Field(description="Local models to build, in order (later ones may load earlier ones).")


class GeneratorEntry(Strict):
    name: str = Field(description="Unique generator name recorded on every image it makes.")
    pipeline: str = Field(description="diffusers pipeline class name, or 'auto' to read it from model_index.json.")
    model: str = Field(description="Local directory (relative to the project root) or hub id given to from_pretrained.")
    revision: str | None = revision_field("the pipeline")
    steps: int = Field(gt=0, description="Denoising steps.")
    guidance: float = Field(ge=0, description="Classifier-free guidance scale (ignored by unconditional pipelines).")
    resolution: int = Field(gt=0, multiple_of=8, description="Output side in pixels.")
    seed: int = Field(description="Base seed; each (prompt, replicate) derives its own seed from it.")
    family: str | None = Field(default=None, description="Generator family the held-out evaluation reports it under (e.g. 'latent-unet', 'pixel-ddpm'); None: its own name.")
    torch_dtype: DType = dtype_field("the pipeline's weights (from_pretrained torch_dtype)")
    cpu_offload: bool = Field(default=False, description="On CUDA, keep the pipeline's models on the CPU and move each to the GPU only while it runs (diffusers enable_model_cpu_offload): less GPU memory for large models, slower. Ignored on the CPU.")
    vae_tiling: bool = Field(default=False, description="Decode the latents tile by tile (the pipeline VAE's enable_tiling): bounds the decoder's memory at large resolutions. Needs a pipeline with a VAE.")


class TaskRunnerConfig(Strict):
    kind: str = Field(description="Registered task runner: 'thread' or 'process' (local pools) or 'dask' (a Dask cluster).")
    max_workers: int = Field(gt=0, description="Concurrent tasks: pool threads or processes, or LocalCluster worker processes (one task each); unused with `address`.")
    address: str | None = Field(default=None, description="kind 'dask' only: address of a running Dask scheduler (e.g. 'tcp://host:8786'); None starts a LocalCluster.")

    @field_validator("address")
    @classmethod
    def _address_needs_dask(cls, address: str | None, info: ValidationInfo) -> str | None:
        # Other runners would silently run locally while the user expects a cluster.
        if address is not None and info.data.get("kind") != "dask":
            raise ValueError(f"only kind 'dask' connects to a scheduler; remove address or set kind: dask (kind is {info.data.get('kind')!r})")
        return address


class GenerationConfig(Strict):
    prompts_file: str = Field(description="Prompt bank: one prompt per line, '#' starts a comment; tracked by git.")
    images_per_prompt: int = Field(gt=0, description="Images per (generator, prompt), each with its own derived seed.")
    batch_size: int = Field(gt=0, description="Images per pipeline call; batches are padded to this size so results never depend on batching.")
    batches_per_task: int = Field(gt=0, description="Pipeline batches one Prefect task runs in turn (fewer, longer tasks cost less orchestration; a retry redoes only the task's unfinished batches).")
    retries: int = Field(ge=0, description="Prefect retries of a failed batch task.")
    retry_delay_s: float = Field(ge=0, description="Seconds between retries.")
    threads: int = Field(gt=0, description="torch intra-op threads in generation tasks.")
    device: str = device_field("the generation pipelines")
    task_runner: TaskRunnerConfig


class ReconstructorEntry(Strict):
    name: str = Field(description="Unique reconstructor name, recorded as the `source` of every reconstruction it makes and as the pixel dataset's fake 'generator'.")
    family: str = Field(description="Decoder family (e.g. 'kl', 'vq', 'taesd', 'dc'): the unit a leave-one-family-out evaluation holds out, so reconstructors of one family are held out together.")
    kind: str = Field(description="Registered autoencoder kind (aligngemini.reconstruction.autoencoders.AUTOENCODERS): 'autoencoder_kl', 'vq_model', 'autoencoder_tiny' or 'autoencoder_dc'; names the diffusers class that loads `model`.")
    model: str = Field(description="Local directory (relative to the project root) or hub id given to from_pretrained.")
    subfolder: str | None = Field(default=None, description="Subfolder of `model` holding the autoencoder (e.g. 'vae' for a whole Stable Diffusion repo).")
    revision: str | None = revision_field("the autoencoder's repo")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        # the name is written into transform strings such as "resize(64)+vae(name,bfloat16)"
        if not name or any(char in name for char in "()+,"):
            raise ValueError(f"reconstructor name {name!r} must be non-empty without '(', ')', '+' or ','")
        return name


class ReconstructionConfig(Strict):
    reconstructors: list[ReconstructorEntry] = Field(min_length=1, description="The reconstructor registry: the decoder families the pixel dataset's fakes come from. Adding a reconstructor is adding an entry; each real tile is reconstructed by one training reconstructor drawn per tile (rendezvous hashing on the tile's sha256, so an added entry takes over only its share of tiles).")
    semantic_reconstructor: str = Field(description="The reconstructor that both sides of the semantic dataset go through (resized to semantic_size), so they share one decoder's traces.")
    batch_size: int = Field(gt=0, description="Images per encode/decode call; calls are padded to this size so results never depend on batching.")
    batches_per_task: int = Field(gt=0, description="Encode/decode calls one Prefect task makes in turn (fewer, longer tasks cost less orchestration).")
    seed: int = Field(description="Base seed of the latent samples (each image derives its own from its sha256) and of the per-tile reconstructor draw.")
    semantic_size: int = Field(gt=0, multiple_of=8, description="Side that real and generated images are resized to before the reconstruction used by the semantic dataset.")
    threads: int = Field(gt=0, description="torch intra-op threads.")
    device: str = device_field("the reconstruction autoencoders")
    dtype: DType = dtype_field("the reconstruction autoencoders' weights and inputs (bfloat16 on a GPU; a reconstruction not in float32 records its dtype in its transform, so changing it reconstructs again)")
    task_runner: TaskRunnerConfig

    @model_validator(mode="after")
    def _known_names(self) -> "ReconstructionConfig":
        names = [entry.name for entry in self.reconstructors]
        dupes = sorted({name for name in names if names.count(name) > 1})
        if dupes:
            raise ValueError(f"reconstructor names must be unique, repeated: {', '.join(dupes)}")
        if self.semantic_reconstructor not in names:
            raise ValueError(f"semantic_reconstructor '{self.semantic_reconstructor}' is not a reconstructor (listed: {', '.join(names)})")
        return self

    def reconstructor(self, name: str) -> ReconstructorEntry:
        for entry in self.reconstructors:
            if entry.name == name:
                return entry
        raise KeyError(name)


class PixelDatasetConfig(Strict):
    jpeg_align_probability: float = Field(ge=0, le=1, description="Chance (drawn per pair) that the fake is JPEG-compressed at its real partner's quality when the partner came from a JPEG (DDA: 0.5, so JPEG traces are no cue either way).")
    sharpness_tolerance: float | None = Field(default=None, ge=0, description="Sharpness matching: when the members' mean |Laplacian| differ by more than this relative amount, the sharper one is blurred to meet the other (aligngemini.datasets.sharpness), so blur is no shortcut; None: off.")
    resample_probability: float = Field(ge=0, le=1, description="Share of pairs resampled (down then up), identically for both members.")
    resample_down: tuple[float, float] = Field(description="Range of the down-scaling factor (DDA: 0.2-1.0).")
    resample_up: tuple[float, float] = Field(description="Range of the up-scaling factor applied after it (DDA: 1.0-3.5).")


class SemanticDatasetConfig(Strict):
    jpeg_probability: float = Field(ge=0, le=1, description="Share of samples JPEG-compressed; real and fake sides are drawn from the same distribution.")
    jpeg_quality: tuple[int, int] = Field(description="Range of JPEG qualities.")


class DatasetsConfig(Strict):
    seed: int = Field(description="Seed of the split assignment and of every dataset-building draw.")
    split_fractions: dict[Literal["train", "val", "test"], float] = Field(description="Share of groups per split; must sum to 1.")
    heldout_generators: list[str] = Field(description="Generators whose images only go to the 'heldout' split (leave-one-generator-out test).")
    heldout_reconstructors: list[str] = Field(description="Reconstructors no branch trains on (leave-one-family-out test): they reconstruct only the test split's real tiles, which the evaluation pairs with those tiles. Every reconstructor of a held-out one's family must be held out too.")
    pixel: PixelDatasetConfig
    semantic: SemanticDatasetConfig

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> "DatasetsConfig":
        if abs(sum(self.split_fractions.values()) - 1) > 1e-6 or set(self.split_fractions) != {"train", "val", "test"}:
            raise ValueError("split_fractions needs train, val and test summing to 1")
        return self


class ValidationConfig(Strict):
    balance_tolerance: float = Field(ge=0, le=0.5, description="Allowed |share of reals - 0.5| per split.")
    min_side: int = Field(gt=0, description="Smallest allowed width/height of a sample.")
    max_side: int = Field(gt=0, description="Largest allowed width/height of a sample.")
    shortcut_margin: float = Field(ge=0, le=0.5, description="Shortcut check of the pixel dataset: each simple image statistic (aligngemini/datasets/shortcuts.py) must tell reals from fakes no better than chance plus this, i.e. its single-statistic AUROC lies within 0.5 +- margin.")
    shortcut_max_pairs: int | None = Field(gt=0, description="Shortcut check: measure a seeded sample of at most this many complete pixel pairs (every image is decoded, so this bounds the cost); null measures every pair.")
    shortcut_splits: list[Literal["train", "val", "test", "heldout"]] = Field(min_length=1, description="Shortcut check: the splits whose pairs are measured.")
    shortcut_seed: int = Field(description="Shortcut check: seed of the sample of pairs.")
    shortcut_blocking: bool = Field(description="Shortcut check: true fails the pixel dataset's validation (training then refuses it) when a statistic separates real from fake; false reports the failing statistics (validation.json, Data Docs, the stage log) and lets the dataset pass.")


class RetrainConfig(Strict):
    warm_start: bool = Field(description="Train both branches from the production version's checkpoints instead of their initial weights (cold start when nothing is in production). The registry is outside DVC's view: `dvc repro` does not rerun a training because production changed.")


class CatalogConfig(Strict):
    lock_timeout_s: float = Field(gt=0, description="How long a stage's catalog merge retries, with exponential backoff, while another process holds the DuckDB file (a notebook, a DuckDB shell, `aligngemini catalog query`), before the stage fails with an error naming the holder's PID.")


class RunsConfig(Strict):
    on_busy: Literal["wait", "fail"] = Field(description="What a flow run does when another run holds the run lock of its data root (`<paths.data_root>/.run.lock`): 'wait' for it to finish (up to wait_timeout_s), or 'fail' at once with an error naming the lock file and the holder's PID.")
    wait_timeout_s: float = Field(gt=0, description="With on_busy 'wait': how long a run waits for the run lock before it fails naming the holder.")


class ScheduleConfig(Strict):
    deployment: str = Field(description="Name of the Prefect deployment of the retrain flow that `make serve` starts.")
    cron: str = Field(description="When the retrain flow runs, as a cron expression (Prefect `Cron` schedule).")
    timezone: str = Field(description="IANA time zone of the cron expression, e.g. 'UTC' or 'Europe/Paris'.")


class Params(Strict):
    paths: PathsConfig
    images: ImageLimits
    ingest: IngestConfig
    bootstrap: BootstrapConfig
    generators: list[GeneratorEntry] = Field(description="The generator registry: adding a generator is adding an entry.")
    generation: GenerationConfig
    reconstruction: ReconstructionConfig
    datasets: DatasetsConfig
    validation: ValidationConfig
    pixel: PixelConfig = Field(description="The pixel-artifact expert and its training (aligngemini/pixel/config.py).")
    semantic: SemanticConfig = Field(description="The semantic VLM branch and its LoRA training (aligngemini/semantic/config.py).")
    evaluation: EvaluationConfig = Field(description="The evaluation: robustness grid, decision threshold, scoring batch size (aligngemini/evaluation/config.py).")
    registry: RegistryConfig = Field(description="The fused model registry and its promotion gate (aligngemini/model_registry/config.py).")
    retrain: RetrainConfig = Field(description="How the branches retrain (warm start).")
    schedule: ScheduleConfig = Field(description="The scheduled retraining: a Prefect deployment of the retrain flow.")
    catalog: CatalogConfig = Field(description="How the catalog's writer waits for readers that hold the file.")
    runs: RunsConfig = Field(description="One run at a time per data root: what a second run does while one holds the run lock.")
    fusion: FusionConfig = Field(description="How the branches' scores are fused into one decision (aligngemini/fusion/config.py).")
    service: ServiceConfig = Field(default_factory=ServiceConfig, description="The detection service `aligngemini serve` (aligngemini/service/config.py).")

    @field_validator("generators")
    @classmethod
    def _unique_generator_names(cls, entries: list[GeneratorEntry]) -> list[GeneratorEntry]:
        names = [e.name for e in entries]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"generator names must be unique, repeated: {', '.join(dupes)}")
        return entries

    @model_validator(mode="after")
    def _unique_bootstrap_names(self) -> "Params":
        names = [m.name for m in self.bootstrap.models]
        if len(names) != len(set(names)):
            raise ValueError("bootstrap.models names must be unique")
        unknown = sorted(set(self.datasets.heldout_generators) - {g.name for g in self.generators})
        if unknown:
            raise ValueError(f"datasets.heldout_generators names unknown generators: {', '.join(unknown)}")
        self._check_heldout_reconstructors()
        self._check_pixel_sizes()
        if self.semantic.max_side < self.reconstruction.semantic_size:
            raise ValueError(
                f"semantic.max_side {self.semantic.max_side} is below reconstruction.semantic_size {self.reconstruction.semantic_size}: "
                "scoring would shrink images the semantic branch was trained on at full size"
            )
        return self

    def _check_pixel_sizes(self) -> None:
        """Every side the pixel dataset's resampling can give its tiles must pass `validate`
        and the pixel expert's inference guard (its per-epoch validation scores them), or a
        few pairs in a thousand fail a stage half-way."""
        pixel, side = self.datasets.pixel, self.ingest.tile_size
        if pixel.resample_probability:
            smallest, largest = resample_reach(side, pixel.resample_down, pixel.resample_up)
            reach = f"{side} px tiles resampled by datasets.pixel.resample_down {list(pixel.resample_down)} and resample_up {list(pixel.resample_up)} reach {smallest}-{largest} px"
        else:
            smallest = largest = side
            reach = f"ingest.tile_size {side}"
        if largest > self.validation.max_side:
            raise ValueError(f"{reach}, above validation.max_side {self.validation.max_side}")
        floor, key = max((self.validation.min_side, "validation.min_side"), (self.pixel.inference.min_side, "pixel.inference.min_side"))
        if smallest < floor:
            raise ValueError(f"{reach}, below {key} {floor}")

    def _check_heldout_reconstructors(self) -> None:
        entries = {entry.name: entry for entry in self.reconstruction.reconstructors}
        heldout = set(self.datasets.heldout_reconstructors)
        unknown = sorted(heldout - set(entries))
        if unknown:
            raise ValueError(f"datasets.heldout_reconstructors names unknown reconstructors: {', '.join(unknown)}")
        if heldout == set(entries):
            raise ValueError("datasets.heldout_reconstructors holds out every reconstructor: the pixel expert would have no fakes to train on")
        families = {entries[name].family for name in heldout}
        leaking = sorted(name for name, entry in entries.items() if entry.family in families and name not in heldout)
        if leaking:
            raise ValueError(f"datasets.heldout_reconstructors: {', '.join(leaking)} share a held-out family but are trained on; hold them out too")

    def training_reconstructors(self) -> list[str]:
        """The reconstructors the pixel dataset's fakes come from (not held out), in params order."""
        heldout = set(self.datasets.heldout_reconstructors)
        return [entry.name for entry in self.reconstruction.reconstructors if entry.name not in heldout]

    def generator(self, name: str) -> GeneratorEntry:
        for entry in self.generators:
            if entry.name == name:
                return entry
        raise KeyError(name)


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "<root>"


def params_from_dict(raw: Any, file: str | Path = "<dict>") -> Params:
    if not isinstance(raw, dict):
        raise ConfigError(file, "<root>", "expected a mapping at the top level")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelt key is both unknown and, under its right name, missing: name the misspelling
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        problem = {"missing": "required key is missing", "extra_forbidden": "unknown key"}.get(err["type"], err["msg"])
        raise ConfigError(file, _dotted(err["loc"]), problem) from None


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "<file>", "file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, "<file>", f"not valid YAML: {exc}") from None
    return params_from_dict(raw, path)
