"""FTIR readers: JCAMP-DX, Thermo Galactic SPC, Thermo OMNIC SPA, Bruker OPUS, two-column text.

Every reader returns one block per spectrum with ``wavenumber`` (Wavenumber,
1/cm) and one ordinate array whose quantity is ``Absorbance``,
``Transmittance`` or ``Reflectance`` as stated by the file, with
``metadata['ordinate']`` and ``metadata['ordinate_source']``.  When the file
does not state it, ``metadata['ordinate']`` is None, the array is
``SpectralIntensity`` and a warning asks the user to say.
"""
