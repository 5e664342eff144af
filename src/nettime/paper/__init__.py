"""The paper's experiments and figures: the models each experiment needs
(:mod:`~.experiments`), the figure registry where every figure is declared once
(:mod:`~.figures`), drawing from metric tables (:mod:`~.draw`, :mod:`~.plots`), and the
paper's claims judged on a run (:mod:`~.findings`).
"""
