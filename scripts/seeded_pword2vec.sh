#!/usr/bin/env bash
# Build pWord2Vec with a seed, for benchmarks that compare w2v-nce with it over several seeds.
#
#   bash scripts/seeded_pword2vec.sh        # builds $SEEDED_PEERS/bin/pword2vec (default ~/.cache/w2v-peers-seeded)
#   PEERS_VENV=~/.cache/w2v-peers-seeded PW_SEED=2 bash ../shared/bench/peers.sh run pword2vec CORPUS OUT 15 2
#
# pWord2Vec has no seed option: its initial vectors come from next_random = 1 and each thread's draws from
# next_random = its thread number, so its runs differ only by thread timing, and one seed's luck shows in
# every run of it (on the raw Wikipedia text, WordSim-353 0.609 to 0.641 over three seeds at 15 epochs).
# This copy of ../shared/bench/pword2vec/pWord2Vec.cpp starts both at values shifted by PW_SEED - 1, so
# PW_SEED=1 (or unset) is the unpatched program; nothing else changes. It is compiled as peers.sh compiles
# its BLAS build (needs libopenblas-dev), into a mirror of the peers' venv (links to everything in it but
# bin/pword2vec), so that peers.sh runs it, and everything else as before, when PEERS_VENV names the mirror.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$here/../../shared/bench/pword2vec
peers_venv=${PEERS_VENV:-$HOME/.cache/w2v-peers}
out=${SEEDED_PEERS:-$HOME/.cache/w2v-peers-seeded}

[ "$(realpath -m "$out")" != "$(realpath -m "$peers_venv")" ] \
  || { echo "seeded_pword2vec.sh: PEERS_VENV must be the peers' venv, not the mirror ($out)" >&2; exit 1; }
[ -f "$source_dir/pWord2Vec.cpp" ] || { echo "seeded_pword2vec.sh: no $source_dir/pWord2Vec.cpp" >&2; exit 1; }
[ -x "$peers_venv/bin/python" ] || { echo "seeded_pword2vec.sh: run 'bash ../shared/bench/peers.sh setup' first" >&2; exit 1; }
[ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ] \
  || { echo "seeded_pword2vec.sh: needs OpenBLAS (apt-get install -y libopenblas-dev)" >&2; exit 1; }

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cp "$source_dir"/* "$build/"
init='    ulonglong next_random = 1;'
thread='        ulonglong  next_random = id;'
for line in "$init" "$thread"; do
  [ "$(grep -cxF "$line" "$build/pWord2Vec.cpp")" = 1 ] \
    || { echo "seeded_pword2vec.sh: pWord2Vec.cpp no longer has exactly one line '$line'" >&2; exit 1; }
done
shift_by='(getenv("PW_SEED") ? atoll(getenv("PW_SEED")) - 1 : 0)'
sed -i -e "s/^$init\$/    ulonglong next_random = 1 + 7919ULL * $shift_by;/" \
       -e "s/^$thread\$/        ulonglong  next_random = id + 104729ULL * $shift_by;/" "$build/pWord2Vec.cpp"

if [ -e "$out" ]; then  # only ever replace an earlier mirror
  [ -L "$out/pyvenv.cfg" ] || { echo "seeded_pword2vec.sh: $out exists and is not a mirror it made" >&2; exit 1; }
  rm -rf "$out"
fi
mkdir -p "$out/bin"
for entry in "$peers_venv"/* "$peers_venv"/bin/*; do
  case $entry in "$peers_venv/bin" | "$peers_venv/bin/pword2vec") continue ;; esac
  ln -s "$entry" "$out/${entry#"$peers_venv"/}"
done
g++ -std=c++11 -O3 -march=native -fopenmp -include mm_malloc.h -include cstdio -include cstdlib -DUSE_MKL \
  -I"$build" "$build/pWord2Vec.cpp" -o "$out/bin/pword2vec" -lopenblas
echo "seeded pWord2Vec: $out/bin/pword2vec (PW_SEED=N; PEERS_VENV=$out for peers.sh)" >&2
