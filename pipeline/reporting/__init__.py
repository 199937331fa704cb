"""From a run's saved logits to what users read: dev and test metrics, benchmark-server files
and zips, the results table, the plots, and the comparison over experiments. numpy, pandas,
scipy and matplotlib only: nothing here loads a model."""
