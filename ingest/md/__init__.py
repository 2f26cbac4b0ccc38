"""Molecular-dynamics readers and transport analysis.

One module per format, each exposing ``READER`` and ``read(path, *, topology=None,
store_positions=False, **options) -> ParsedFile``:

==================  ===============================================================
module              format
==================  ===============================================================
``xyz``             XYZ and extended XYZ (ASE ``key=value`` comment lines)
``lammps_dump``     LAMMPS dump (``ITEM:`` frames; ``.bz2``/``.gz``; triclinic, scaled)
``lammps_data``     LAMMPS data file (``write_data``; topology of a dump)
``lammps_log``      LAMMPS log: ``thermo_style custom`` tables and ``multi`` blocks
``gromacs``         GROMACS ``.gro`` alone, ``.xtc``/``.trr`` with a ``.gro`` topology
``h5md``            H5MD (HDF5) particles and observables
``pdb``             PDB (ATOM/HETATM, CRYST1, MODEL frames)
==================  ===============================================================

Record-level content shared by all trajectory readers is documented in
:mod:`battkg.ingest.md._common`; :mod:`battkg.ingest.md.transport` turns
positions into mean-square displacements, self-diffusion coefficients and
Nernst–Einstein conductivities.
"""
