"""From acquired files to the files every model reads and writes: the genome, pooled and merged
peaks and example windows, cell-type signals inside peaks, motif channels, the HDF5 data set of
each split (its writer, reader and torch loader), and the predictions file contract.
"""
