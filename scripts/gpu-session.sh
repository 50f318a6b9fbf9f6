#!/bin/bash
# Runs on a lent GPU machine (device tool) from the repository root, with .dev/ and .gl/ carried
# (docs/ENGINE.md, "Running on a GPU machine without Node"): unpacks the Vulkan loader, Node and
# node_modules, then runs the steps named as arguments; their logs and result files come back in one
# archive, $OUT/gpu-out.tgz (the device tool returns at most 8 files).
# TEST_TIMEOUT and BENCH_TIMEOUT (seconds) bound the test and bench steps; GPU_TAG overrides the tag.
#   steps: test | test-engine | test-ner | test:WORD[,WORD...] | probes | cpuprof | tune | tuneT | profile | e2e | matmul | layers | memory | serve | corpus
#          | epoch:diffusionner|bopn|binder (one timed CoNLL-2003 training epoch, train only, the model's config)
# serve and corpus need .dev/redis/ (redis-server and its libraries, docs/ENGINE.md); serve, corpus and
# epoch need .dev/shared/data/conll2003/ (train.jsonl, test.jsonl).
set -o pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
xz -dc .dev/node.xz > /tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
[ -d node_modules/webgpu ] || tar -xJf .dev/nm.tar.xz
# A carried redis-server (the corpus step's), on PATH as /usr/bin/redis-server is where the tests look.
if [ -x .dev/redis/redis-server ] && ! [ -x /usr/bin/redis-server ]; then
  printf '#!/bin/sh\nLD_LIBRARY_PATH=%s/.dev/redis/lib exec %s/.dev/redis/redis-server "$@"\n' "$PWD" "$PWD" > /usr/bin/redis-server; chmod +x /usr/bin/redis-server
fi
# The data sets travel as .dev/shared (a copy of the files of ../shared/data that the steps read).
[ -e ../shared ] || [ ! -d .dev/shared ] || ln -s "$PWD/.dev/shared" ../shared
T="node node_modules/tsx/dist/cli.mjs"
# Results are tagged by the GPU's model (h100, h200, ...) so runs on different kinds stay apart.
TAG=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | grep -oiE 'h[0-9]{3}|a[0-9]{2,3}|l[0-9]{1,2}s?' | head -1 | tr A-Z a-z)
TAG=${GPU_TAG:-${TAG:-gpu}}
export PYTHONUNBUFFERED=1
LOG=/tmp/gpu-out; mkdir -p $LOG
for step in "$@"; do
  case $step in
    test) timeout ${TEST_TIMEOUT:-300} $T test/run.ts 2>&1 | tee "$LOG/test.txt" | grep -E "passed|failed|FAIL|✘|Error" | tail -30 ;;
    test-engine) timeout 240 $T test/run.ts kernels/ nn/ autograd/ tensor/ diffusion/ reliability/ 2>&1 | tee "$LOG/test.txt" | grep -E "passed|failed|FAIL|✘|Error" | tail -30 ;;
    test-ner) timeout 240 $T test/run.ts ner/bert ner/config ner/data ner/predict ner/selection models/diffusionner/ api/api text/ 2>&1 | tee "$LOG/test-ner.txt" | grep -E "passed|failed|FAIL|✘|Error" | tail -30 ;;
    test:*) IFS=, read -ra words <<< "${step#test:}"; timeout ${TEST_TIMEOUT:-200} $T test/run.ts "${words[@]}" 2>&1 | tee -a "$LOG/test-some.txt" | grep -E "passed|failed|FAIL|✘|Error" | tail -30 ;;
    cpuprof) timeout 90 $T bench/probe-host.ts 20 16 /tmp/host.cpuprofile 2>&1 | tee "$LOG/cpuprof.txt"
          node bench/cpuprofile-top.mjs /tmp/host.cpuprofile 20 40 2>&1 | tee -a "$LOG/cpuprof.txt" ;;
    probes) timeout 60 $T bench/probe-dispatch-cost.ts 3000 2>&1 | tee "$LOG/probes.txt"; timeout 60 $T bench/probe-host.ts 10 16 2>&1 | tee -a "$LOG/probes.txt" ;;
    tune) SHAPES='[[4096,4096,4096],[1024,1024,1024],[128,768,3072],[960,256,256],[960,256,1024],[960,1024,256]]' REPS=10 VARIANT=tiled \
          CFGS='[[128,128,8,8,8],[128,128,16,8,8],[128,64,16,8,4],[64,64,16,4,4],[32,32,8,4,4],[32,64,16,4,4]]' \
          timeout 200 $T bench/tune-matmul.ts 2>&1 | tee "$LOG/tune.txt" ;;
    tuneT) SHAPES='[[960,256,256],[960,256,1024],[960,1024,256],[2048,2048,2048]]' REPS=10 VARIANT=tiled TR='[false,true]' \
          CFGS='[[128,128,8,8,8],[64,64,16,4,4],[32,32,8,4,4]]' timeout 120 $T bench/tune-matmul.ts 2>&1 | tee "$LOG/tuneT.txt" ;;
    profile) timeout 150 $T bench/profile.ts --steps 3 --shapes 2>&1 | tee "$LOG/profile.txt" | tail -70 ;;
    serve) timeout ${BENCH_TIMEOUT:-300} $T bench/run.ts serve --tag $TAG 2>&1 | tee "$LOG/serve.txt" | tail -40
          cp bench/results/serve-$TAG.json bench/results/serve-$TAG.meta.json "$LOG/" ;;
    corpus) timeout ${BENCH_TIMEOUT:-300} $T bench/corpus.ts --docs ${CORPUS_DOCS:-3000} --shard-size 250 --tag $TAG 2>&1 | tee "$LOG/corpus.txt" | tail -30
          cp bench/results/corpus-$TAG.json bench/results/corpus-$TAG.meta.json "$LOG/" ;;
    epoch:*) kind=${step#epoch:}
          case $kind in diffusionner) cfg=configs/conll2003.json ;; *) cfg=configs/$kind-conll2003.json ;; esac
          node -e 'const c=require("./"+process.argv[1]); c.data={train:require("path").resolve("../shared/data/conll2003/train.jsonl")}; c.train.checkpointEvery=1e9; console.log(JSON.stringify(c))' "$cfg" > /tmp/epoch-$kind.json
          timeout ${EPOCH_TIMEOUT:-300} $T src/cli/diffusionner.ts train --config /tmp/epoch-$kind.json --epochs 1 --out /tmp/epoch-$kind 2>&1 | tee "$LOG/epoch-$kind.txt" | grep -E "^(model|epoch 1: [0-9]+ s)" ;;
    e2e|matmul|layers|memory) timeout ${BENCH_TIMEOUT:-300} $T bench/run.ts $step --tag $TAG 2>&1 | tee "$LOG/$step.txt" | tail -45
          cp bench/results/$step-$TAG.json bench/results/$step-$TAG.meta.json "$LOG/" ;;
    *) echo "unknown step $step"; exit 2 ;;
  esac
done
tar -czf "${OUT:-/tmp}/gpu-out.tgz" -C $LOG .
