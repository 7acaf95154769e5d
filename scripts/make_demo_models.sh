#!/usr/bin/env bash
# Re-make the demo's starting models in tomorois_surfora/engine/demo_models/ (about 3.5 h on a 2-core CPU).
# Each is the model of a README accuracy benchmark: trained for 25 minutes from scratch on phantoms of seeds
# 1000+ (the demo's own phantoms use seed 0), then scored on held-out phantoms of seeds 2000+. The scores go
# to benchmarks/results/roi_accuracy_<name>.json. Run scripts/install.sh first.
#   bash scripts/make_demo_models.sh [WORK_FOLDER]     (default: ./bench_roi_work)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
WORK="${1:-bench_roi_work}"
DEST=tomorois_surfora/engine/demo_models
BENCH=(.venv/bin/python benchmarks/bench_roi.py accuracy --work "$WORK" --minutes 25)

# contacts: 10 training tomograms of 128x1024x1024 voxels with 40 contact sites asked for (24-27 fit; their
# phantoms take about 4 minutes to make on 2 cores), settings calibrated on 1 of them, scored on 30 of
# 128x512x512 with 6 sites
"${BENCH[@]}" --kind contacts --train 10 --test 30 --field 128 512 512 --contacts 6 \
  --train-field 128 1024 1024 --train-contacts 40 --train-distractors 4 --calibrate 1 --with-penalty \
  --depth 50 --width 2 --context 4 --far-context 3 --dice-weight 1 --name contacts_big40_d50_w2_z4_far3_dice1_t30
cp "$WORK/contacts/model_contacts_big40_d50_w2_z4_far3_dice1_t30/model.pt" "$DEST/contacts.pt"

"${BENCH[@]}" --kind invaginations --train 5 --test 10 --depth 30 --width 2 --context 2 --far-context 3 --dice-weight 1 \
  --planes xy,xz,yz --name invaginations_d30_w2_far3_dice1_planes
cp "$WORK/invaginations/model_invaginations_d30_w2_far3_dice1_planes/model.pt" "$DEST/invaginations.pt"

# membranes: the hybrid 2.5D network of the membrane benchmark (three section planes, the default), 48 epochs
# (29 minutes on 2 cores) from scratch on 3 contact and 3 invagination phantoms of seed 100 (the U-Net is
# scored beside it with --methods unet and the same --epochs)
.venv/bin/python benchmarks/bench_membrane.py accuracy --methods hybrid --epochs 48 --name e48
cp bench_membrane_work/models/hybrid_e48/model.pt "$DEST/membranes.pt"
echo "[demo models] wrote $DEST/contacts.pt, $DEST/invaginations.pt and $DEST/membranes.pt"
