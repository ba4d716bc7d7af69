"""Compiled kernels of ebm: losses, histograms, split search and the boosting loop.

Nothing here validates its inputs; the Python layer in ``ebm`` checks them once.
"""
