"""Literal transcriptions of reference code (the authors' LGTM step): the yardsticks the tests
compare the pipeline's methods with in float64, and the benchmark times. Never run by a stage."""
