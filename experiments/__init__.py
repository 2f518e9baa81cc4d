"""What the pipeline runs: the configs (`experiments/configs/`, mmengine files), the paper's tables
and Figure 4 as data (`experiments.tables`) and the method's knobs (`experiments.knobs`)."""
