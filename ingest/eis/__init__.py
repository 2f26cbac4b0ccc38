"""Electrochemical impedance spectroscopy readers (one module per vendor format).

Each reader returns one :class:`~battkg.readers.Block` per spectrum with the
arrays and sign conventions of :mod:`battkg.ingest.eis._common`
(``frequency``, ``real_impedance``, ``negative_imaginary_impedance``,
``impedance_modulus``, ``impedance_phase``).  The EC-Lab readers
(``biologic_mpr``, ``biologic_mpt``) name their blocks ``spectrum_<n>`` after
EC-Lab's ``cycle number`` and add ``time`` (Time, s), ``voltage``
(CellVoltage, V, the mean <Ewe>) and ``current`` (CellCurrent, A, the mean <I>).
"""
