"""Raman readers: Renishaw WiRE ``.wdf`` (spectra and maps), Horiba LabSpec text, two-column text.

Arrays: ``raman_shift`` (RamanShift, 1/cm) and ``intensity`` (SpectralIntensity,
count); maps add ``map_x``/``map_y`` (µm) and a 2-D ``intensity`` of shape
(n_spectra, n_points).  Scalar quantities: ``LaserWavelength`` (nm),
``ExposureTime`` (s), ``Accumulations`` (dimensionless).
"""
