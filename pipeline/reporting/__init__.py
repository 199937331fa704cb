"""From a run's saved logits to what users read: dev metrics, benchmark-server files and zips,
and the results table. numpy and pandas only: nothing here loads a model."""
