"""A yardstick for DML (pipeline/methods/dml.py), written for this project: one iteration of deep
mutual learning between K networks, spelled out from the paper, with the choices of its
authors' TensorFlow code reproduced as facts. The method is tested against it in float64; it is
never the method.

The paper (Zhang et al. 2018, "Deep Mutual Learning", Sec. 3, Eqs. 1-4 and Algorithm 1 for
two networks): network k minimises its cross-entropy on the labels plus the KL from its peer's
prediction to its own,

    L_k = CE(p_k, y) + KL(p_j ‖ p_k),    KL(p_j ‖ p_k) = Σ_c p_j,c log(p_j,c / p_k,c),

and the networks are updated one after the other, each from predictions recomputed after the
previous network's update. With more than two networks the paper averages the peers' KL terms;
the authors' code sums them (lines 90-95), as `mutual_loss` does; the project uses two.

Behaviours of the authors' code reproduced here (YingZhangDUT/Deep-Mutual-Learning, commit
34a20583debe4e0dab1d9856db69bed278c5c011, train_models.py):
- The KL is computed from softmax probabilities as the batch mean of
  Σ_c p_j,c · log(g + p_j,c / (p_k,c + g)) with a guard g = 1e-8 (lines 60-67). `guard=0`
  gives the exact KL.
- CE is the batch-mean softmax cross-entropy with weight 1 and no label smoothing (lines
  77-79; the flag's default is 0); the KL terms are added with weight 1 and no temperature
  (lines 90-95).
- Each network has its own Adam, given the gradient of its own loss with respect to its own
  variables only, so its peers' predictions act as constants (lines 159-164, 237-241, 276-282).
- Each iteration runs the networks' train ops one after the other, each a fresh evaluation of
  the whole graph: every network's forward again, in index order, with the current weights
  (lines 310-316). The loss reported for a network is the one its update used.
- All networks are built in training mode (line 153), so every forward, the peers' included,
  has dropout on.

Not reproduced: the auxiliary-logits term (Inception only, lines 82-85), the regularisation
losses (weight decay belongs to the optimizer here), moving averages and summaries, and the
input queue, which hands each train op a fresh batch (here every update sees the same one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

KL_GUARD = 1e-8  # the authors' guard against dividing by or taking the log of zero


def guarded_kl(own_logits: torch.Tensor, peer_logits: torch.Tensor, guard: float = KL_GUARD) -> torch.Tensor:
    """KL(p_peer ‖ p_own), batch-averaged, with the authors' guard (0: the exact KL)."""
    p_own = torch.softmax(own_logits, dim=-1)
    p_peer = torch.softmax(peer_logits, dim=-1)
    ratio = p_peer / (p_own + guard)
    return (p_peer * torch.log(ratio + guard)).sum(dim=1).mean()


def mutual_loss(k: int, all_logits: Sequence[torch.Tensor], labels: torch.Tensor, guard: float) -> torch.Tensor:
    """L_k: network k's cross-entropy plus the KL from every peer's prediction to its own."""
    loss = F.cross_entropy(all_logits[k], labels)
    for j, peer_logits in enumerate(all_logits):
        if j != k:
            loss = loss + guarded_kl(all_logits[k], peer_logits, guard)
    return loss


def mutual_learning_iteration(networks: Sequence[Callable], parameters: Sequence[Sequence[torch.nn.Parameter]],
                              optimizers: Sequence[torch.optim.Optimizer], inputs, labels: torch.Tensor,
                              guard: float = KL_GUARD) -> list[float]:
    """Updates networks 0, 1, ... in turn and returns the loss each update minimised.

    `networks[k]` maps inputs to logits (its module in train mode), `parameters[k]` are its
    weights and `optimizers[k]` steps them. Before each update every network runs forward
    again, in index order, as a fresh evaluation of the authors' graph does.
    """
    losses = []
    for k, optimizer in enumerate(optimizers):
        all_logits = [network(inputs) for network in networks]
        loss = mutual_loss(k, all_logits, labels, guard)
        optimizer.zero_grad(set_to_none=True)
        loss.backward(inputs=list(parameters[k]))  # only network k's weights receive a gradient
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return losses
