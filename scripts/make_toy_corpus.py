#!/usr/bin/env python3
"""Generate the embedded demo corpus data/toy.txt and its analogy file data/toy-analogies.txt.

    python scripts/make_toy_corpus.py [--sentences 40000] [--seed 7] [--out data]

Deterministic for a given seed. The text plants regularities that skip-gram can learn:
- word families: members of a family (countries, capitals, male and female words, singular and plural
  nouns) share the family's context words ("nation", "city", "he", "many", ...);
- relations: both words of a pair (france/paris, king/queen, cat/cats) share the pair's own topic words,
  so their vectors differ by roughly the family offset, and b - a + c lands near d;
- background: a Zipf-distributed filler vocabulary of pseudo-words, so frequencies look like text.
The analogy file is in the questions-words format, with two semantic and two syntactic ("gram*") sections.
"""
import argparse
import itertools
import os
import random

SECTIONS = {
    "capital-common-countries": [
        ("france", "paris"), ("germany", "berlin"), ("italy", "rome"), ("spain", "madrid"),
        ("japan", "tokyo"), ("china", "beijing"), ("russia", "moscow"), ("egypt", "cairo"),
        ("greece", "athens"), ("norway", "oslo"), ("sweden", "stockholm"), ("poland", "warsaw"),
        ("canada", "ottawa"), ("peru", "lima"), ("kenya", "nairobi"), ("cuba", "havana"),
    ],
    "family": [
        ("king", "queen"), ("man", "woman"), ("boy", "girl"), ("father", "mother"), ("brother", "sister"),
        ("son", "daughter"), ("uncle", "aunt"), ("husband", "wife"), ("prince", "princess"),
        ("nephew", "niece"), ("grandfather", "grandmother"), ("actor", "actress"),
    ],
    "gram8-plural": [
        ("cat", "cats"), ("dog", "dogs"), ("horse", "horses"), ("bird", "birds"), ("tree", "trees"),
        ("river", "rivers"), ("house", "houses"), ("car", "cars"), ("book", "books"), ("apple", "apples"),
        ("ship", "ships"), ("road", "roads"), ("mountain", "mountains"), ("flower", "flowers"),
    ],
    "gram3-comparative": [
        ("big", "bigger"), ("small", "smaller"), ("fast", "faster"), ("slow", "slower"), ("cold", "colder"),
        ("warm", "warmer"), ("tall", "taller"), ("short", "shorter"), ("young", "younger"), ("old", "older"),
        ("strong", "stronger"), ("weak", "weaker"),
    ],
}
# Context words shared by the first and by the second member of every pair of a section.
FAMILY_CONTEXT = {
    "capital-common-countries": (["nation", "country", "borders", "government", "republic"],
                                 ["city", "mayor", "downtown", "streets", "metro"]),
    "family": (["he", "his", "him", "himself", "male"], ["she", "her", "hers", "herself", "female"]),
    "gram8-plural": (["a", "one", "this", "each", "single"], ["many", "several", "these", "two", "some"]),
    "gram3-comparative": (["very", "quite", "so", "really", "too"], ["than", "much", "even", "getting", "became"]),
}
SYLLABLES = ["ka", "lo", "mi", "ru", "te", "zan", "vor", "pel", "dra", "ish", "no", "qua", "fen", "sol", "bri"]


def pseudo_words(rng, n):
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def generate(n_sentences, seed):
    rng = random.Random(seed)
    fillers = pseudo_words(rng, 2000)
    zipf_weights = [1.0 / (rank + 1) for rank in range(len(fillers))]
    topic_pool = iter(pseudo_words(random.Random(seed + 1), 400))
    relations = []  # (section, first, second, first-family context, second-family context, pair topics)
    for section, pairs in SECTIONS.items():
        first_ctx, second_ctx = FAMILY_CONTEXT[section]
        for first, second in pairs:
            topics = ["t" + next(topic_pool) for _ in range(4)]
            relations.append((first, second, first_ctx, second_ctx, topics))
    lines = []
    for _ in range(n_sentences):
        first, second, first_ctx, second_ctx, topics = rng.choice(relations)
        use_second = rng.random() < 0.5
        word = second if use_second else first
        family = second_ctx if use_second else first_ctx
        core = [word] + rng.sample(family, 2) + rng.sample(topics, 2)
        rng.shuffle(core)
        filler = rng.choices(fillers, weights=zipf_weights, k=rng.randint(3, 9))
        cut = rng.randint(0, len(filler))
        lines.append(" ".join(filler[:cut] + core + filler[cut:]))
    questions = []
    for section, pairs in SECTIONS.items():
        questions.append(f": {section}")
        for (a, b), (c, d) in itertools.permutations(pairs, 2):
            questions.append(f"{a} {b} {c} {d}")
    return lines, questions


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=40000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data"))
    args = parser.parse_args()
    lines, questions = generate(args.sentences, args.seed)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "toy.txt"), "w", newline="\n") as out:
        out.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "toy-analogies.txt"), "w", newline="\n") as out:
        out.write("\n".join(questions) + "\n")
    print(f"{len(lines)} sentences, {sum(len(l.split()) for l in lines)} tokens, "
          f"{sum(1 for q in questions if not q.startswith(':'))} analogy questions -> {args.out}")


if __name__ == "__main__":
    main()
