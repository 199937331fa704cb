"""DML's loss and update, transcribed literally from YingZhangDUT/Deep-Mutual-Learning
(TensorFlow 1.3), commit 34a20583debe4e0dab1d9856db69bed278c5c011, `train_models.py`:
`kl_loss_compute` (l.60-67), `_tower_loss` (l.70-114) and the step loop of `train`
(l.240-243, 276-282, 310-316). The yardstick of pipeline/distill/dml.py, never the method.

TensorFlow to torch, nothing else changed: `tf.nn.softmax` is a softmax over the last axis;
`tf.losses.softmax_cross_entropy` with one-hot labels, `label_smoothing=0` (the flag's default)
and weight 1 is `F.cross_entropy`; `opt.compute_gradients(loss, var_list=net_i)` followed by
`apply_gradients` is `torch.autograd.grad` over net i's parameters and its optimizer's step;
each `sess.run([net_train_op[i], ...])` evaluates the whole graph again (every network's
forward, in index order, with the current variables), which `train_step` does by calling
`_tower_loss` once per network. Dropped: the AuxLogits term (Inception only), the
regularisation losses (weight decay: the optimizer's), summaries and moving averages, and
the input queue (each `sess.run` dequeues a fresh batch there; here both use `inputs`).

`eps` is the reference's literal 1e-8, a keyword so that a test can set it to 0 and compare
with the exact KL the project computes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kl_loss_compute(logits1, logits2, eps=1e-8):
    """ KL loss
    """
    pred1 = torch.softmax(logits1, dim=-1)
    pred2 = torch.softmax(logits2, dim=-1)
    loss = torch.mean(torch.sum(pred2 * torch.log(eps + pred2 / (pred1 + eps)), 1))

    return loss


def _tower_loss(network_fn, images, labels, num_networks, eps=1e-8):
    """Calculate the total loss on a single tower running the reid model."""
    net_logits, net_raw_loss = {}, {}
    for i in range(num_networks):
        net_logits["{0}".format(i)] = network_fn["{0}".format(i)](images)
        net_raw_loss["{0}".format(i)] = F.cross_entropy(net_logits["{0}".format(i)], labels)

    # Add KL loss if there are more than one network
    net_loss, kl_loss = {}, {}

    for i in range(num_networks):
        net_loss["{0}".format(i)] = net_raw_loss["{0}".format(i)]
        for j in range(num_networks):
            if i != j:
                # The reference's key is "ii", not "ij" ({0}{0}): harmless, it only names summaries.
                kl_loss["{0}{0}".format(i, j)] = kl_loss_compute(net_logits["{0}".format(i)],  # noqa: F523
                                                                 net_logits["{0}".format(j)], eps)
                # `+=` on a TF tensor makes a new tensor (torch's would write into net_raw_loss)
                net_loss["{0}".format(i)] = net_loss["{0}".format(i)] + kl_loss["{0}{0}".format(i, j)]  # noqa: F523

    return net_loss


def train_step(network_fn, net_var_list, net_opt, images, labels, num_networks=2, eps=1e-8):
    """One iteration of `for step in xrange(FLAGS.max_number_of_steps)`: net 0's train op, then
    net 1's, each a fresh evaluation of the graph. `network_fn[str(i)]` maps inputs to logits
    (its module in train mode, `is_training=True`), `net_var_list[str(i)]` its parameters."""
    net_loss_value = {}
    for i in range(num_networks):
        net_loss = _tower_loss(network_fn, images, labels, num_networks, eps)
        grads = torch.autograd.grad(net_loss["{0}".format(i)], net_var_list["{0}".format(i)])
        for var, grad in zip(net_var_list["{0}".format(i)], grads):
            var.grad = grad
        net_opt["{0}".format(i)].step()
        net_opt["{0}".format(i)].zero_grad(set_to_none=True)
        net_loss_value["{0}".format(i)] = net_loss["{0}".format(i)].item()
    return net_loss_value
