"""Evaluation of word vectors: analogies (3CosAdd, 3CosMul) and word-pair similarity.

Analogies follow gensim's KeyedVectors.evaluate_word_analogies question for question: only the
`restrict_vocab` most frequent words count; a question with a word outside them is skipped; with
case folding every word is compared upper-cased and a folded word stands for its most frequent
variant; the answer is the first of the 5 best candidates (the three question rows excluded) that is
in the restricted vocabulary and not a question word. Scores are computed in batches of matrix
products over unit vectors. Word pairs follow evaluate_word_pairs (Spearman and Pearson).
"""
import os
from dataclasses import dataclass

import numpy as np

from .errors import EvaluationError

ANALOGY_RESTRICT = 30_000     # word2vec C's compute-accuracy and gensim's default
SIMILARITY_RESTRICT = 300_000  # gensim's evaluate_word_pairs default
QUESTION_BATCH = 2048
CANDIDATES = 5
METHODS = ("3cosadd", "3cosmul")


def read_lines(path):
    """The lines of an evaluation file as UTF-8 text (invalid bytes replaced); EvaluationError if unreadable."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.readlines()
    except OSError as exc:
        raise EvaluationError(f"{path}: cannot read ({exc.strerror or exc})") from None


@dataclass
class EvaluationSet:
    """A parsed evaluation file: task 'analogy' with items [(section, [(a, b, c, d), ...]), ...], or task
    'similarity' with items [(word1, word2, score), ...]."""
    path: str
    task: str
    items: list


def read_evaluation(path):
    """An analogy or word-pair file, told apart by content, read once and parsed (EvaluationError names the
    line of anything malformed)."""
    lines = read_lines(path)
    if looks_like_word_pairs(lines):
        return EvaluationSet(os.fspath(path), "similarity", parse_word_pairs(path, lines))
    return EvaluationSet(os.fspath(path), "analogy", parse_analogies(path, lines))


def _as_set(source, task):
    if isinstance(source, EvaluationSet):
        return source
    lines = read_lines(source)
    parse = parse_analogies if task == "analogy" else parse_word_pairs
    return EvaluationSet(os.fspath(source), task, parse(source, lines))


def parse_analogies(path, lines):
    """[(section name, [(a, b, c, d), ...]), ...] from the lines of a questions-words file."""
    sections = []
    for line_no, line in enumerate(lines, 1):
        if line.startswith(": "):
            sections.append((line[2:].strip(), []))
            continue
        words = line.split()
        if not words:
            continue
        if not sections:
            raise EvaluationError(f"{path}:{line_no}: question before the first ': section' header")
        if len(words) != 4:
            raise EvaluationError(f"{path}:{line_no}: expected 4 words, got {len(words)}")
        sections[-1][1].append(tuple(words))
    return sections


def _restricted_index(embeddings, restrict_vocab, case_insensitive):
    """Word (upper-cased if folding) -> row among the first restrict_vocab; the most frequent variant wins."""
    limit = min(restrict_vocab, len(embeddings))
    fold = str.upper if case_insensitive else (lambda w: w)
    index = {}
    for i in range(limit - 1, -1, -1):
        index[fold(embeddings.words[i])] = i
    return index, limit, fold


def evaluate_analogies(embeddings, source, restrict_vocab=ANALOGY_RESTRICT, method="3cosadd",
                       case_insensitive=True):
    """Score an analogy file (a path or its EvaluationSet). Returns the report dict documented for
    `w2v-nce eval --json`."""
    if method not in METHODS:
        raise EvaluationError(f"unknown analogy method {method!r} (use {' or '.join(METHODS)})")
    analogies = _as_set(source, "analogy")
    sections = analogies.items
    index, limit, fold = _restricted_index(embeddings, restrict_vocab, case_insensitive)
    unit = embeddings.unit[:limit]
    questions, owners = [], []
    for s, (_, quads) in enumerate(sections):
        for quad in quads:
            folded = [fold(w) for w in quad]
            if all(w in index for w in folded):
                questions.append([index[w] for w in folded])
                owners.append(s)
    questions = np.asarray(questions, dtype=np.int64).reshape(-1, 4)
    correct = np.zeros(len(questions), dtype=bool)
    for lo in range(0, len(questions), QUESTION_BATCH):
        batch = questions[lo:lo + QUESTION_BATCH]
        scores = _analogy_scores(unit, batch, method)
        rows = np.arange(batch.shape[0])
        for k in range(3):
            scores[rows, batch[:, k]] = -np.inf
        best = scores.argmax(axis=1)  # usually the answer; a full top-5 only where it is a question word
        for q in range(batch.shape[0]):
            ignore = {fold(embeddings.words[i]) for i in batch[q, :3]}
            predicted = fold(embeddings.words[best[q]])
            if predicted not in index or predicted in ignore:
                row = scores[q]
                top = np.argpartition(-row, CANDIDATES - 1)[:CANDIDATES] if limit > CANDIDATES else np.arange(limit)
                for candidate in top[np.argsort(-row[top], kind="stable")]:
                    predicted = fold(embeddings.words[candidate])
                    if predicted in index and predicted not in ignore:
                        break
            correct[lo + q] = predicted == fold(embeddings.words[batch[q, 3]])
    owners = np.asarray(owners, dtype=np.int64)
    report_sections, parts = [], {"semantic": [0, 0], "syntactic": [0, 0]}
    for s, (name, quads) in enumerate(sections):
        mine = owners == s
        right, answered = int(correct[mine].sum()), int(mine.sum())
        report_sections.append({"name": name, "correct": right, "answered": answered, "questions": len(quads)})
        part = parts["syntactic" if name.startswith("gram") else "semantic"]
        part[0] += right
        part[1] += answered
    answered = len(questions)
    return {"file": analogies.path, "task": "analogy", "method": method, "restrict_vocab": restrict_vocab,
            "correct": int(correct.sum()), "total_answered": answered,
            "total_questions": sum(len(q) for _, q in sections),
            "accuracy": float(correct.sum() / answered) if answered else 0.0,
            "semantic": {"correct": parts["semantic"][0], "answered": parts["semantic"][1]},
            "syntactic": {"correct": parts["syntactic"][0], "answered": parts["syntactic"][1]},
            "sections": report_sections}


def _analogy_scores(unit, batch, method):
    a, b, c = unit[batch[:, 0]], unit[batch[:, 1]], unit[batch[:, 2]]
    if method == "3cosadd":  # cosine with the unit mean of b, c and -a (gensim's most_similar)
        query = b + c - a
        query /= np.maximum(np.linalg.norm(query, axis=1, keepdims=True), np.float32(1e-30))
        return query @ unit.T
    # 3CosMul (Levy and Goldberg 2014), cosines shifted to [0, 1], as gensim's most_similar_cosmul
    cos_a, cos_b, cos_c = ((1 + x @ unit.T) / 2 for x in (a, b, c))
    return cos_b * cos_c / (cos_a + np.float32(1e-6))


def parse_word_pairs(path, lines):
    """(word1, word2, score) triples: tab- or space-separated, '#' comments, an optional header line."""
    triples = []
    for line_no, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) != 3:
            raise EvaluationError(f"{path}:{line_no}: expected 'word1 word2 score', got {len(fields)} fields")
        try:
            score = float(fields[2])
        except ValueError:
            if not triples:  # a header line such as 'Word 1<TAB>Word 2<TAB>Human (mean)'
                continue
            raise EvaluationError(f"{path}:{line_no}: score {fields[2]!r} is not a number") from None
        triples.append((fields[0].strip(), fields[1].strip(), score))
    return triples


def looks_like_word_pairs(lines):
    """True if the first meaningful line has three fields ending in a number."""
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(": "):
            return False
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) == 3:
            try:
                float(fields[2])
                return True
            except ValueError:
                continue  # maybe a header
        return False
    return False


def rank_average(values):
    """Ranks 1..n with ties given their average rank (scipy.stats.rankdata's default)."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]])
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    sizes = np.diff(np.concatenate([first, [len(values)]]))
    average = first + (sizes + 1) / 2.0
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = average[group]
    return ranks


def pearson(x, y):
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    y = np.asarray(y, dtype=np.float64) - np.mean(y)
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else float("nan")


def evaluate_word_pairs(embeddings, source, restrict_vocab=SIMILARITY_RESTRICT, case_insensitive=True):
    """Spearman and Pearson correlation of cosine similarity with the scores of a word-pair file (a path or
    its EvaluationSet), by gensim's rules."""
    index, _, fold = _restricted_index(embeddings, restrict_vocab, case_insensitive)
    gold, model, oov = [], [], 0
    pairs = _as_set(source, "similarity")
    triples = pairs.items
    for a, b, score in triples:
        a, b = fold(a), fold(b)
        if a not in index or b not in index:
            oov += 1
            continue
        gold.append(score)
        model.append(float(embeddings.unit[index[a]] @ embeddings.unit[index[b]]))
    enough = len(gold) >= 2
    return {"file": pairs.path, "task": "similarity",
            "spearman": pearson(rank_average(gold), rank_average(model)) if enough else float("nan"),
            "pearson": pearson(gold, model) if enough else float("nan"),
            "pairs": len(triples), "oov_pairs": oov}


def headline(report):
    """An evaluation report's one number: analogy accuracy or Spearman correlation."""
    return report["accuracy"] if report["task"] == "analogy" else report["spearman"]


def evaluate_file(embeddings, source, restrict_vocab=None, method="3cosadd", case_insensitive=True):
    """An analogy or word-pair file (a path, told apart by content, or an EvaluationSet). restrict_vocab
    None: gensim's default for each."""
    evaluation = source if isinstance(source, EvaluationSet) else read_evaluation(source)
    if evaluation.task == "similarity":
        return evaluate_word_pairs(embeddings, evaluation, restrict_vocab or SIMILARITY_RESTRICT, case_insensitive)
    return evaluate_analogies(embeddings, evaluation, restrict_vocab or ANALOGY_RESTRICT, method, case_insensitive)
