"""NetTIME itself: the network (:mod:`~.network`, with its fused GRU :mod:`~.gru` and the
activation recomputation of CPU training :mod:`~.recompute`), devices (:mod:`~.device`),
training with checkpoints and resumption (:mod:`~.training`), prediction into the predictions
file (:mod:`~.prediction`), and the registry of named model specs (:mod:`~.registry`, torch-free
so that the workflow reads it at parse time).
"""
