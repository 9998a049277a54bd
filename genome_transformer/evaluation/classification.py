# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Metrics of a sequence classifier, the one definition the fine-tuner and the task baselines share."""

from __future__ import annotations

import math

import numpy as np
import scipy.stats


def classification_metrics(labels_N: np.ndarray, probs_NK: np.ndarray) -> dict:
  """accuracy, mcc (multi-class: Gorodkin's R_K), macro_f1, auroc (one-vs-rest mean), loss (mean NLL).

  macro_f1 averages over the classes in the labels or the predictions; auroc over the classes that
  have both positives and negatives among the labels, NaN when none has.
  """
  labels_N = np.asarray(labels_N, np.int64)
  probs_NK = np.asarray(probs_NK, np.float64)
  num_classes = probs_NK.shape[1]
  predicted_N = probs_NK.argmax(axis=1)
  confusion_KK = np.zeros((num_classes, num_classes), np.float64)
  np.add.at(confusion_KK, (labels_N, predicted_N), 1)
  n = confusion_KK.sum()
  true_K, pred_K, correct = confusion_KK.sum(axis=1), confusion_KK.sum(axis=0), np.trace(confusion_KK)
  denominator = math.sqrt((n * n - pred_K @ pred_K) * (n * n - true_K @ true_K))
  mcc = (correct * n - pred_K @ true_K) / denominator if denominator else 0.0
  present = (true_K + pred_K) > 0
  f1_K = 2 * np.diag(confusion_KK) / np.maximum(true_K + pred_K, 1)
  aucs = []
  for k in range(num_classes) if num_classes > 2 else [1]:
    positive = labels_N == k
    num_pos, num_neg = int(positive.sum()), int((~positive).sum())
    if num_pos and num_neg:
      ranks = scipy.stats.rankdata(probs_NK[:, k])  # Ties share the mean rank: the Mann-Whitney U.
      aucs.append((ranks[positive].sum() - num_pos * (num_pos + 1) / 2) / (num_pos * num_neg))
  nll = -np.log(np.maximum(probs_NK[np.arange(len(labels_N)), labels_N], 1e-12))
  return {
    "loss": float(nll.mean()),
    "accuracy": float(correct / n),
    "mcc": float(mcc),
    "macro_f1": float(f1_K[present].mean()),
    "auroc": float(np.mean(aucs)) if aucs else float("nan"),
  }
