"""The yardsticks: this project's own slow, literal float64 implementations of what each
reference computes (the authors' LGTM step, transformers 4.x's AdamW, the baselines' losses and
updates), written from the papers' equations and the documented behaviour of the authors' code
(docs/references.md). The tests compare the pipeline's methods with them; the benchmark times
the LGTM one. Never run by a stage."""
