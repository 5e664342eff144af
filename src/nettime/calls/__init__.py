"""From per-base probabilities to binary calls: the best of random thresholds
(:mod:`~.thresholds`), the linear-chain CRF (:mod:`~.crf`), per-base calls and called sites as
BED (:mod:`~.sites`), and genome-browser tracks of the probabilities (:mod:`~.tracks`).
"""
