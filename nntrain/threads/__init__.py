"""The process's BLAS threads (docs/threads.md): the machine's cores and numpy's BLAS through
threadpoolctl (`machine`), which count a run, a prediction or an evaluation uses and why
(`policy`), and the picker that times a run's own steps (`picker`)."""
