#!/usr/bin/env python3
"""Record TensorFlow's nce_loss / sampled_softmax_loss and their gradients on random cases, as the
fixture tests/data/tf_sampled_losses.npz that tests/test_losses.py holds w2v_nce.losses to.

    python scripts/make_tf_fixtures.py        # needs tensorflow (any 2.x); run in a separate venv

Cases cover num_true 1..3, accidental-hit removal on and off, sampled ids repeated (unique=False) and
hitting the labels, labels repeated within a row, and large logits.
"""
import os

import numpy as np
import tensorflow as tf

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "tf_sampled_losses.npz")


def make_case(rng, index):
    batch, dim, classes = rng.integers(1, 6), rng.integers(1, 6), rng.integers(4, 12)
    num_true = int(rng.integers(1, 4))
    num_sampled = int(rng.integers(1, 9))
    scale = 8.0 if index % 7 == 0 else 1.0  # some cases with large logits
    weights = rng.normal(size=(classes, dim)) * scale
    biases = rng.normal(size=classes)
    inputs = rng.normal(size=(batch, dim))
    labels = rng.integers(0, classes, size=(batch, num_true))
    if index % 3 == 0 and num_true > 1:
        labels[:, 1] = labels[:, 0]  # a label repeated within a row
    sampled = rng.integers(0, classes, size=num_sampled)  # repeats allowed, as with unique=False
    if index % 2 == 0:
        sampled[rng.integers(num_sampled)] = labels[0, 0]  # force an accidental hit
    true_expected = rng.uniform(0.01, 2.0, size=(batch, num_true))  # float64: TF wants the logits dtype
    sampled_expected = rng.uniform(0.01, 2.0, size=num_sampled)
    return dict(weights=weights, biases=biases, inputs=inputs, labels=labels, sampled=sampled,
                true_expected=true_expected, sampled_expected=sampled_expected, num_true=num_true,
                num_sampled=num_sampled, num_classes=classes)


def run_tf(case, loss_name, remove_hits):
    w = tf.Variable(case["weights"])
    b = tf.Variable(case["biases"])
    x = tf.Variable(case["inputs"])
    sampled_values = (tf.constant(case["sampled"], dtype=tf.int64), tf.constant(case["true_expected"]),
                      tf.constant(case["sampled_expected"]))
    loss_fn = tf.nn.nce_loss if loss_name == "nce" else tf.nn.sampled_softmax_loss
    with tf.GradientTape() as tape:
        loss = loss_fn(weights=w, biases=b, labels=tf.constant(case["labels"], dtype=tf.int64), inputs=x,
                       num_sampled=case["num_sampled"], num_classes=case["num_classes"],
                       num_true=case["num_true"], sampled_values=sampled_values,
                       remove_accidental_hits=remove_hits)
        total = tf.reduce_sum(loss)
    dw, db, dx = tape.gradient(total, [w, b, x])
    return loss.numpy(), tf.convert_to_tensor(dw).numpy(), tf.convert_to_tensor(db).numpy(), dx.numpy()


def main():
    rng = np.random.default_rng(2026)
    arrays = {}
    n = 0
    for index in range(60):
        case = make_case(rng, index)
        for loss_name in ("nce", "sampled_softmax"):
            for remove_hits in (False, True):
                loss, dw, db, dx = run_tf(case, loss_name, remove_hits)
                prefix = f"c{n:03d}_"
                for key, value in case.items():
                    arrays[prefix + key] = np.asarray(value)
                arrays[prefix + "loss_name"] = np.asarray(loss_name)
                arrays[prefix + "remove_hits"] = np.asarray(remove_hits)
                arrays[prefix + "tf_loss"], arrays[prefix + "tf_dw"] = loss, dw
                arrays[prefix + "tf_db"], arrays[prefix + "tf_dx"] = db, dx
                n += 1
    arrays["count"] = np.asarray(n)
    arrays["tf_version"] = np.asarray(tf.__version__)
    np.savez_compressed(OUT, **arrays)
    print(f"{n} cases from TensorFlow {tf.__version__} -> {OUT}")


if __name__ == "__main__":
    main()
