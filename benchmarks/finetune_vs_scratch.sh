#!/usr/bin/env bash
# Fine-tune the shipped model on a small folder of one group against training the same budget from
# scratch (the same recipe without `model.init`), then score both on that group's test photos.
#
#   bash benchmarks/finetune_vs_scratch.sh [OUT_DIR] [MAX_IMAGES]
#
# The folder: the 303 UTKFace val photos labelled female (the val split: never used to train the
# shipped model, only to select it); held out for validation: 10 % of them. Scored on the 287
# female photos of the UTKFace test split. Prints both `colorkit evaluate` tables.
set -euo pipefail
OUT=${1:-/tmp/finetune-vs-scratch}
BUDGET=${2:-2000}
UTK=../shared/data/utkface
mkdir -p "$OUT"
python - "$UTK" "$OUT" <<'PY'
import sys
from pathlib import Path
from colorkit.data.labels import parse_groups
utk, out = Path(sys.argv[1]), Path(sys.argv[2])
for split in ("val", "test"):
    names = [n for n in (utk / "splits" / f"{split}.txt").read_text().split() if (parse_groups(n) or {}).get("gender") == "female"]
    (out / f"{split}_female.txt").write_text("\n".join(names) + "\n")
    print(f"{split}: {len(names)} female photos")
PY
sed '/^init = /d; /^freeze_norm_stats = /d; s/^name = "finetune_faces"/name = "scratch_faces"/' recipes/finetune_faces.toml > "$OUT/scratch_faces.toml"
for recipe in recipes/finetune_faces.toml "$OUT/scratch_faces.toml"; do
  colorkit --quiet run "$recipe" --data "$UTK/images" --split "$OUT/val_female.txt" --out "$OUT/runs" --set "train.max_images=$BUDGET"
done
for run in "$OUT"/runs/*/; do
  echo "== $run"
  colorkit evaluate "$run" --data "$UTK/images" --split "$OUT/test_female.txt" --json "$OUT/$(basename "$run").json"
done
