"""The pure domain core: no I/O, no clock, no ports or adapters."""
