#!/usr/bin/env bash
# Train w2v-nce (all three losses) and the peers (gensim, word2vec C, fastText) on one corpus, one after
# the other in this run, score every vectors file with the same evaluator (gensim's, via
# ../shared/bench/peers.sh eval), and print one table with wall times and ratios against gensim.
#
#   scripts/bench_train.sh [CORPUS] [OUTDIR] [THREADS]
#       CORPUS   default ../shared/data/wiki10m.norm.txt
#       OUTDIR   default bench-out/train (vectors, logs, results.jsonl, table.md)
#       THREADS  default 2
#   PEERS="gensim w2vc fasttext" LOSSES="neg sampled-softmax nce" to choose what runs.
#
# Every run starts from the raw corpus: w2v-nce runs with --no-cache, so its wall time includes
# tokenizing and counting, as the peers' times include their vocabulary scans. Peers use peers.sh's
# settings (skip-gram, negative sampling, dim 100, window 5, 5 negatives, min_count 5, sample 1e-4,
# lr 0.025, 5 epochs); `neg` runs at exactly those settings, nce and sampled-softmax with their presets
# (configs/*.yaml) and dim 100, window 5, min_count 5, subsample 1e-4.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
peers=$here/../../shared/bench/peers.sh
corpus=${1:-$here/../../shared/data/wiki10m.norm.txt}
out=${2:-bench-out/train}
threads=${3:-2}
PEERS=${PEERS:-gensim w2vc fasttext}
LOSSES=${LOSSES:-neg sampled-softmax nce}
[ -f "$corpus" ] || { echo "bench_train.sh: corpus '$corpus' not found" >&2; exit 2; }
[ -x "$peers" ] || [ -f "$peers" ] || { echo "bench_train.sh: $peers not found" >&2; exit 2; }
mkdir -p "$out"
results=$out/results.jsonl
: >"$results"

record() { # record NAME WALL_S VECTORS
  local scores
  scores=$(bash "$peers" eval "$3")
  python3 -c 'import json, sys; d = json.loads(sys.argv[3]); d.update(name=sys.argv[1], wall_s=float(sys.argv[2])); print(json.dumps(d))' \
    "$1" "$2" "$scores" >>"$results"
  echo "  $1: ${2}s $scores"
}

for impl in $PEERS; do
  echo "peer $impl ..."
  bash "$peers" run "$impl" "$corpus" "$out/$impl" 5 "$threads" >/dev/null
  read -r wall _ <"$out/$impl/time.txt"
  record "$impl" "$wall" "$out/$impl/vectors.txt"
done

for loss in $LOSSES; do
  echo "w2v-nce $loss ..."
  dir=$out/w2v-nce-$loss
  mkdir -p "$dir"
  /usr/bin/time -f '%e %M' -o "$dir/time.txt" \
    w2v-nce train "$corpus" --loss "$loss" --threads "$threads" --dim 100 --window 5 --min-count 5 \
    --subsample 1e-4 --no-cache --out "$dir" 2>"$dir/log.txt"
  read -r wall _ <"$dir/time.txt"
  record "w2v-nce $loss" "$wall" "$dir/vectors.bin"
done

python3 - "$results" "$out/table.md" "$corpus" "$threads" <<'EOF'
import json, os, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
gensim = next((r for r in rows if r["name"] == "gensim"), None)
lines = [f"corpus {os.path.basename(sys.argv[3])}, {sys.argv[4]} threads, scores by gensim's evaluator "
         "(analogies over the 30,000 most frequent words)", "",
         "| implementation | wall s | vs gensim | analogy | semantic | syntactic | WordSim-353 | SimLex-999 |",
         "|---|---|---|---|---|---|---|---|"]
for r in rows:
    ratio = f"{r['wall_s'] / gensim['wall_s']:.2f}x" if gensim else "-"
    lines.append(f"| {r['name']} | {r['wall_s']:.0f} | {ratio} | {r['analogy']:.3f} | {r['semantic']:.3f} | "
                 f"{r['syntactic']:.3f} | {r['wordsim353']:.3f} | {r['simlex999']:.3f} |")
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
