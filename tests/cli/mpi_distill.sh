#!/usr/bin/env bash
# Data-parallel `r1 distill` under mpirun (docs/distillation.md, docs/distributed.md). A
# tiny-moe teacher memorises worked answers to a 4-problem jsonl task (r1 train); then:
#  1. 2 ranks vs 1 rank: the rejection sampling (prompts split over the ranks, sampler seeds
#     per global prompt index) writes a byte-identical traces.jsonl and the same counts in
#     sampling.json; the student's SFT (global --batch 4 = 2 ranks x 2, --check-sync) logs
#     the same losses within 2e-3 relative — plain SFT and with --kd forward (teacher forward
#     per rank on its rows; KD's CE/KL in the summary agree too);
#  2. a 2-rank run resumes on 1 rank (sampling skipped, SFT continued) to the 1-rank losses;
#  3. a global --batch that does not split over the ranks is refused with a clear error.
# Skips (exit 77 = ctest "Skipped", with a message) only when mpirun is absent or r1 was built without MPI.
# Usage: mpi_distill.sh PATH/TO/r1 SCRATCH_DIR
set -euo pipefail
R1="$(realpath "$1")"
DIR="$2"
source "$(dirname "$0")/lib/mpi_prelude.sh"

source "$(dirname "$0")/lib/distill_teacher.sh"
distill_teacher "$DIR" "7+5=12" "9-4=5" "3+3=6" "8-1=7"
ARGS=(--teacher "$DIR/teacher/ckpt.r1" --student tiny-dense --task "jsonl:$DIR/task.jsonl"
      --prompts 4 --k 6 --temperature 1.0 --max-tokens 40 --slots 8 --seq 64 --no-progress
      --json)

# compare A B: same steps, losses within 2e-3 relative
compare() { python3 - "$1" "$2" << 'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert [x["step"] for x in a] == [x["step"] for x in b], "steps differ"
worst = 0.0
for x, y in zip(a, b):
    for k in ("loss", "eval_loss"):
        if k in x or k in y:
            d = abs(x[k] - y[k]) / max(1.0, abs(x[k]))
            worst = max(worst, d)
            if d > 2e-3:
                sys.exit(f"FAIL: step {x['step']} {k}: {x[k]} vs {y[k]} (tolerance 2e-3)")
print(f"  {len(a)} SFT steps agree, worst relative loss difference {worst:.1e}")
PY
}
same_counts() { python3 - "$1" "$2" << 'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in a:
    if k != "seconds" and a[k] != b[k]:
        sys.exit(f"FAIL: sampling.json {k}: {a[k]} vs {b[k]}")
print(f"  traces identical: {a['n_accepted']} of {a['n_sampled']} completions accepted")
PY
}

for mode in none forward; do
    echo "== distill --kd $mode: 1 rank vs 2 ranks  [${SECONDS}s]"
    "$R1" distill "${ARGS[@]}" --steps 6 --batch 4 --kd "$mode" --out "$DIR/$mode-1" > "$DIR/$mode-1.json" ||
        { cat "$DIR/$mode-1.json"; fail "1-rank distill failed"; }
    "${MPIRUN[@]}" "$R1" distill "${ARGS[@]}" --steps 6 --batch 4 --kd "$mode" --check-sync --out "$DIR/$mode-2" \
        > "$DIR/$mode-2.json" 2>&1 || { cat "$DIR/$mode-2.json"; fail "2-rank distill failed"; }
    [ "$(grep -c '"ranks":2' "$DIR/$mode-2.json")" -eq 1 ] || { cat "$DIR/$mode-2.json"; fail "expected one summary (rank 0) with ranks 2"; }
    cmp "$DIR/$mode-1/traces.jsonl" "$DIR/$mode-2/traces.jsonl" || fail "traces.jsonl differ"
    same_counts "$DIR/$mode-1/sampling.json" "$DIR/$mode-2/sampling.json"
    [ "$(grep -c '"ranks":2' "$DIR/$mode-2/student/metrics.jsonl")" -eq 6 ] || fail "SFT metrics lack 6 lines with ranks 2"
    compare "$DIR/$mode-1/student/metrics.jsonl" "$DIR/$mode-2/student/metrics.jsonl"
    if [ "$mode" = forward ]; then
        python3 - "$DIR/$mode-1.json" "$DIR/$mode-2.json" << 'PY'
import json, sys
a, b = (json.loads(open(p).read().strip().splitlines()[-1]) for p in sys.argv[1:3])
for k in ("kd_ce", "kd_kl"):
    assert abs(a[k] - b[k]) <= 2e-3 * max(1.0, abs(a[k])), (k, a[k], b[k])
print(f"  KD: CE {a['kd_ce']:.4f} vs {b['kd_ce']:.4f}, KL {a['kd_kl']:.4f} vs {b['kd_kl']:.4f}")
PY
    fi
done

echo "== a 2-rank run resumes on 1 rank  [${SECONDS}s]"
# 3 SFT steps, then --resume --steps 6 on 1 rank (the cosine schedule follows --steps, so the
# reference does the same on 1 rank throughout)
"$R1" distill "${ARGS[@]}" --steps 3 --batch 4 --out "$DIR/ref" > "$DIR/ref.json"
"$R1" distill "${ARGS[@]}" --steps 6 --batch 4 --resume --out "$DIR/ref" > "$DIR/ref-resume.json"
"${MPIRUN[@]}" "$R1" distill "${ARGS[@]}" --steps 3 --batch 4 --out "$DIR/mixed" > "$DIR/mixed.json" 2>&1 ||
    { cat "$DIR/mixed.json"; fail "2-rank part failed"; }
"$R1" distill "${ARGS[@]}" --steps 6 --batch 4 --resume --out "$DIR/mixed" > "$DIR/mixed-resume.json" ||
    { cat "$DIR/mixed-resume.json"; fail "1-rank resume failed"; }
grep -q '"sampling_skipped":true' "$DIR/mixed-resume.json" || fail "resume did not skip sampling"
grep -q '"start_step":3' "$DIR/mixed-resume.json" || { cat "$DIR/mixed-resume.json"; fail "SFT did not resume at step 3"; }
cmp "$DIR/ref/traces.jsonl" "$DIR/mixed/traces.jsonl" || fail "traces.jsonl differ"
compare "$DIR/ref/student/metrics.jsonl" "$DIR/mixed/student/metrics.jsonl"

echo "== --batch 3 over 2 ranks is refused  [${SECONDS}s]"
if "${MPIRUN[@]}" "$R1" distill "${ARGS[@]}" --steps 6 --batch 3 --out "$DIR/bad" > "$DIR/bad.log" 2>&1; then
    fail "--batch 3 accepted on 2 ranks"
fi
grep -q -- "--batch 3 (the global SFT batch) does not split over 2 ranks" "$DIR/bad.log" ||
    { cat "$DIR/bad.log"; fail "no clear error"; }
echo "PASS: mpi_distill (${SECONDS}s)"
