"""How stages run: launchers and the training worker, checkpoint loading, CPU threads, console
redirection, and the per-epoch records a training returns.

- `launch`, `train_worker`: torchrun / Slurm commands and the per-process training entry;
- `epoch_records`: `EpochRecordHook`, each epoch's validation metrics (the train stage's curve);
- `resources`, `console`: torch threads per job; mmengine's console log into files.
"""
