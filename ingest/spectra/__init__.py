"""Format library for spectra shared by Raman and FTIR (no ``READER`` here).

Vendor formats that both techniques use are parsed once in this package and
return plain parsed structures; the thin reader modules in
``battkg.ingest.raman`` and ``battkg.ingest.ftir`` declare their own
``READER`` and assign their technique's quantity keys.

* :mod:`.text`   two-column text, with or without a header (Horiba LabSpec aware)
* :mod:`.jcamp`  JCAMP-DX 4.24/5 single spectra (AFFN and ASDF compression)
* :mod:`.spc`    Thermo Galactic SPC, new format (0x4B), single and multi-subfile
* :mod:`.common` ordinate/abscissa conventions shared by the FTIR readers
"""
