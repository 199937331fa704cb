"""The tensor math of the training methods (pipeline/methods/), shared by their steps: losses,
train/eval modes, LGTM's and MetaDistil's teacher gradients, PESF-KD's adapter, RCO's anchors."""
