"""What a training run leaves behind and how it is scored: the GLUE metrics, the logits of its
splits (outputs/) and its summary.json. Written by the training stages and read by the
reporting ones; below both, so that an edit to a report retrains nothing."""
