# Sourced by the distillation CLI tests (distill.sh, mpi_distill.sh; this folder is not
# globbed as tests). Defines
#   distill_teacher DIR PROBLEM=ANSWER...
# which writes DIR/task.jsonl (the prompts and answers) and DIR/teach.jsonl (each problem
# 20 times as an R1 chat prompt with a worked completion), then trains a tiny-moe teacher
# that memorises them (60 steps) into DIR/teacher/ckpt.r1. Needs R1 (the r1 binary).
distill_teacher() {
  local dir="$1"
  shift
  python3 - "$dir" "$@" <<'PY'
import json, sys
d = sys.argv[1]
probs = [p.split("=") for p in sys.argv[2:]]
with open(d + "/task.jsonl", "w") as f:
    for q, a in probs:
        f.write(json.dumps({"prompt": q, "answer": int(a)}) + "\n")
bos, user, asst = "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "<\uff5cUser\uff5c>", "<\uff5cAssistant\uff5c>"
with open(d + "/teach.jsonl", "w") as f:
    for rep in range(20):
        for q, a in probs:
            f.write(json.dumps({"prompt": bos + user + q + asst + "<think>\n",
                                "completion": f"{q}={a}\n</think>\n<answer>{a}</answer>"}) + "\n")
PY
  "$R1" train --model tiny-moe --data "$dir/teach.jsonl" --steps 60 --batch 8 --seq 64 --lr 1e-2 \
      --warmup 5 --eval-batches 0 --log-every 0 --no-progress --out "$dir/teacher" > /dev/null
}
