"""Analogy and word-pair evaluation: hand-made cases with known answers, and gensim question for question."""

import numpy as np
import pytest

from conftest import write
from w2v_nce import datasets
from w2v_nce.embeddings import Embeddings
from w2v_nce.errors import EvaluationError
from w2v_nce.evaluate import evaluate_analogies, evaluate_file, evaluate_word_pairs, rank_average

# b - a + c lands exactly on d for the first question; the second has an unknown word.
WORDS = ["man", "woman", "king", "queen", "prince", "apple", "Paris"]
VECTORS = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [1, 0.2, 1.05], [-1, 0.3, -0.2], [0, -1, 1]],
                   dtype=np.float32)


@pytest.fixture
def emb():
    return Embeddings(WORDS, VECTORS)


@pytest.fixture
def analogies(tmp_path):
    return write(tmp_path / "q.txt", ": royals\nman woman king queen\nman woman king unknownword\n"
                                     ": gram-royal\nMAN KING WOMAN QUEEN\n")


def test_3cosadd_answers_sections_and_coverage(emb, analogies):
    report = evaluate_analogies(emb, analogies)
    assert report["task"] == "analogy" and report["method"] == "3cosadd"
    assert (report["correct"], report["total_answered"], report["total_questions"]) == (2, 2, 3)
    assert report["sections"] == [{"name": "royals", "correct": 1, "answered": 1, "questions": 2},
                                  {"name": "gram-royal", "correct": 1, "answered": 1, "questions": 1}]
    assert report["semantic"] == {"correct": 1, "answered": 1}
    assert report["syntactic"] == {"correct": 1, "answered": 1}
    assert report["accuracy"] == 1.0


def test_case_sensitive_skips_what_does_not_match_exactly(emb, analogies):
    report = evaluate_analogies(emb, analogies, case_insensitive=False)
    assert report["total_answered"] == 1 and report["sections"][1]["answered"] == 0


def test_restricted_vocabulary_skips_questions(emb, analogies):
    report = evaluate_analogies(emb, analogies, restrict_vocab=3)  # queen is rank 4
    assert report["total_answered"] == 0 and report["accuracy"] == 0.0


def test_3cosmul(emb, tmp_path):
    path = write(tmp_path / "q.txt", ": s\nman woman king queen\nwoman man queen king\n")
    report = evaluate_analogies(emb, path, method="3cosmul")
    assert report["correct"] == 2 and report["method"] == "3cosmul"


def test_answer_skips_case_variants_of_the_question_words(tmp_path):
    # The nearest row to b - a + c is 'King', a case variant of c: skipped, the next one counts.
    words = ["a", "b", "king", "d", "King"]
    vectors = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0.1, 1, 0.9], [0, 1, 1]], dtype=np.float32)
    path = write(tmp_path / "q.txt", ": s\na b king d\n")
    assert evaluate_analogies(Embeddings(words, vectors), path)["correct"] == 1


def test_malformed_analogy_files(emb, tmp_path):
    with pytest.raises(EvaluationError, match=r"q.txt:1: question before"):
        evaluate_analogies(emb, write(tmp_path / "q.txt", "a b c d\n"))
    with pytest.raises(EvaluationError, match=r"q.txt:2: expected 4 words"):
        evaluate_analogies(emb, write(tmp_path / "q.txt", ": s\na b c\n"))
    with pytest.raises(EvaluationError, match="cannot read"):
        evaluate_analogies(emb, str(tmp_path / "missing.txt"))


def test_word_pairs(emb, tmp_path):
    path = write(tmp_path / "ws.tsv", "# comment\nWord 1\tWord 2\tHuman\nman\twoman\t8\nking\tqueen\t7.5\n"
                                      "man\tapple\t1\nking\tzzz\t3\nprince\tking\t9\n")
    report = evaluate_file(emb, path)
    assert report["task"] == "similarity" and report["pairs"] == 5 and report["oov_pairs"] == 1
    unit = emb.unit
    model = [unit[0] @ unit[1], unit[2] @ unit[3], unit[0] @ unit[5], unit[4] @ unit[2]]
    stats = pytest.importorskip("scipy.stats")
    assert report["spearman"] == pytest.approx(stats.spearmanr([8, 7.5, 1, 9], model)[0], abs=1e-12)
    assert report["pearson"] == pytest.approx(stats.pearsonr([8, 7.5, 1, 9], model)[0], abs=1e-6)
    spaces = write(tmp_path / "sl.txt", "man woman 8\nking queen 7.5\nman apple 1\n")
    assert evaluate_file(emb, spaces)["pairs"] == 3


def test_bad_word_pair_line(emb, tmp_path):
    with pytest.raises(EvaluationError, match=r"ws.tsv:3: score 'high'"):
        evaluate_word_pairs(emb, write(tmp_path / "ws.tsv", "a\tb\t1\nc\td\t2\ne\tf\thigh\n"))


def test_rank_average_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    values = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5])
    np.testing.assert_array_equal(rank_average(values), stats.rankdata(values))


@pytest.fixture(scope="module")
def random_google_vectors(tmp_path_factory):
    """Random vectors over the Google analogy words, some upper-cased, in random frequency order (the
    evaluation sets are the ones shipped with the package, byte for byte those of ../shared/data)."""
    words = sorted({w for line in open(datasets.path("google-analogies")) if not line.startswith(":")
                    for w in line.split()})
    rng = np.random.default_rng(0)
    words = [w.upper() if rng.random() < 0.1 else w.lower() for w in rng.permutation(words)]
    words = list(dict.fromkeys(words))
    path = str(tmp_path_factory.mktemp("v") / "random.txt")
    Embeddings(words, rng.normal(size=(len(words), 30)).astype(np.float32)).save(path, binary=False)
    return path


@pytest.mark.parametrize("restrict_vocab", [30000, 400])
def test_analogies_equal_gensim_question_for_question(random_google_vectors, restrict_vocab):
    keyed = pytest.importorskip("gensim.models").KeyedVectors
    path = random_google_vectors
    questions = datasets.path("google-analogies")
    kv = keyed.load_word2vec_format(path)
    score, sections = kv.evaluate_word_analogies(questions, restrict_vocab=restrict_vocab, case_insensitive=True)
    ours = evaluate_analogies(Embeddings.load(path), questions, restrict_vocab=restrict_vocab)
    assert ours["accuracy"] == pytest.approx(score, abs=1e-12)
    for theirs, mine in zip(sections[:-1], ours["sections"]):
        assert theirs["section"] == mine["name"]
        assert len(theirs["correct"]) == mine["correct"]
        assert len(theirs["correct"]) + len(theirs["incorrect"]) == mine["answered"]
    assert ours["correct"] > 0 or restrict_vocab == 400


def test_word_pairs_equal_gensim(random_google_vectors):
    keyed = pytest.importorskip("gensim.models").KeyedVectors
    path = random_google_vectors
    kv = keyed.load_word2vec_format(path)
    for name in ("wordsim353", "simlex999"):
        pearson, spearman, oov = kv.evaluate_word_pairs(datasets.path(name), case_insensitive=True)
        ours = evaluate_file(Embeddings.load(path), datasets.path(name))
        assert ours["spearman"] == pytest.approx(spearman[0], abs=1e-6)
        assert ours["pearson"] == pytest.approx(pearson[0], abs=1e-5)
        assert ours["oov_pairs"] / ours["pairs"] * 100 == pytest.approx(oov, abs=1e-9)
