"""Masked-language-model pre-training of a tiny BERT on the tasks' own training text.

LGTM and ProKT start the teacher from a *pre-trained* checkpoint with a zero classification
head. A randomly initialised encoder gives nearly the same [CLS] vector for every input, so a
zero head gets no gradient into it and training stalls; a short MLM pre-training makes the
tiny models start the way BERT checkpoints do, so that the demo keeps the paper's
init_classifier_to_zero.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.optim import AdamWHF


def pretrain_masked_lm(
    model,
    tokenizer,
    examples: Sequence[tuple[str, str | None]],
    *,
    steps: int,
    batch_size: int,
    learning_rate: float,
    max_length: int,
    seed: int,
) -> list[float]:
    """Pre-train the encoder of `model` (a BERT sequence classifier) in place for `steps`
    steps (cycling through the examples); returns the MLM loss of each step. The pooler and
    the classification head are left as they are. A number of steps, not epochs, so that the
    cost does not grow with the data (MNLI at its real size has 392,702 examples)."""
    import torch
    from transformers import BertForMaskedLM, DataCollatorForLanguageModeling

    torch.manual_seed(seed)
    masked_lm = BertForMaskedLM(model.config)
    mask = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, seed=seed)

    def collate(pairs):
        # Tokenized a batch at a time: the steps use a few thousand examples, not the whole set.
        return mask([dict(tokenizer(a, b, truncation=True, max_length=max_length)) for a, b in pairs])

    generator = torch.Generator().manual_seed(seed)
    batches = torch.utils.data.DataLoader(list(examples), batch_size=batch_size, shuffle=True, generator=generator,
                                          collate_fn=collate)
    # torch's AdamW defaults, in the AdamW whose square roots are the same on every processor.
    optimizer = AdamWHF(masked_lm.parameters(), lr=learning_rate, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    losses: list[float] = []
    masked_lm.train()
    while len(losses) < steps:
        for batch in batches:
            loss = masked_lm(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            if len(losses) == steps:
                break
    # The classifier's encoder takes the pre-trained weights; BertForMaskedLM has no pooler.
    missing, unexpected = model.bert.load_state_dict(masked_lm.bert.state_dict(), strict=False)
    assert not unexpected and all(key.startswith("pooler.") for key in missing), (missing, unexpected)
    return losses
