"""The semantic branch: a VLM (Qwen2.5-VL) fine-tuned with LoRA to answer whether an image is
real or AI-generated judging by semantic consistency, trained on the semantic dataset only.

- `config`: `SemanticConfig` (params.yaml key `semantic`); cheap to import;
- `model`: `load_vlm` (local directory or hub id, one code path), the single-token answer
  check, `save_adapter` / `load_adapter` / `load_detector`;
- `data`: `read_split` (manifest rows to lazily decoded images) and `Collator` (chat-templated,
  left-padded batches whose labels cover the answer token only);
- `train`: `train` (LoRA, gradient accumulation, per-step and per-epoch metrics);
- `score`: `score` (p_fake), `evaluate`, `classification_metrics`.

    vlm = load_vlm(source, config.dtype, config.device, config.revision)
    result = train(vlm, train_set, config, val_set)
    save_adapter(result.vlm, out_dir, base_model=config.model)
    p_fake = score(load_detector(source, out_dir), images, config.prompt, config.eval_batch_size)

Submodules are imported where used, so reading params never imports torch.
"""
