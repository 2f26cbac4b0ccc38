"""Battery cycling readers: one module per vendor format, plus per-cycle analysis.

Every reader returns one :class:`~battkg.readers.Block` named ``"timeseries"``
with these arrays (where the file has them), built by
:func:`battkg.ingest.cycling._common.timeseries_block`:

=====================  ==========================  =========  ===================================
array                  quantity                    unit       notes
=====================  ==========================  =========  ===================================
``time``               Time                        s          test time from the start of the file
``voltage``            CellVoltage                 V
``current``            CellCurrent                 A          **positive = charging the cell**
``charge_capacity``    ChargingCapacity            A*h        cumulative within each half cycle
``discharge_capacity`` DischargingCapacity         A*h        cumulative within each half cycle
``cycle_index``        CycleIndex                  (int)      **1-based**; how derived: per reader
``half_cycle``         PureNumberQuantity          (int)      vendor half-cycle counter
``step_index``         PureNumberQuantity          (int)      vendor step / sequence number
``temperature``        ThermodynamicTemperature    degC or K  as given by the file
=====================  ==========================  =========  ===================================

Metadata keys: ``technique`` (GCPL, CP, MB, ...), ``instrument``,
``start_time``, ``software_version``, ``channel``; the active mass, where the
file gives it, is a file-level ``ScalarQuantity("ActiveMass", value, "mg"|"g")``.
"""
