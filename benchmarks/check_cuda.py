"""Check that TomoROIS runs on CUDA: MS-D against the naive reference on the GPU, GPU against CPU, GPU
throughput, and the CLI chain (synth → roi train → roi predict → roi extract → roi evaluate) with
``--device cuda``, whose probability map is compared with a CPU prediction by the same model.

    python benchmarks/check_cuda.py --work /tmp/cuda_check      # on a machine with a CUDA GPU

Prints a table per part and writes benchmarks/results/roi_cuda.json. Exits 1 if any check fails.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from results_json import write_result

from tomorois_surfora.engine.roi.msd import relative_difference

TOLERANCE = 1e-3  # float32 with TF32 convolutions off; relative to the largest magnitude
PROBABILITY_TOLERANCE = 0.02  # the CLI runs with PyTorch's defaults, where cuDNN may use TF32 convolutions


def equivalence(torch):
    """Our forward/backward against the naive one on the GPU, and the GPU against the CPU."""
    from tomorois_surfora.engine.roi.msd import MSDNet, forward_and_backward

    rows = []
    for dims, shape, channels in ((2, (64, 64), 5), (3, (16, 32, 32), 1)):
        torch.manual_seed(0)
        net = MSDNet(in_channels=channels, depth=20, dims=dims)
        with torch.no_grad():  # the final layer starts at zero; give it weights so gradients reach every layer
            net.final_weight.normal_(0, 0.1)
        x = torch.randn(2, channels, *shape)
        row = {"dims": dims, "input": [2, channels, *shape]}
        results = forward_and_backward(net, x)
        outputs = {key: out for key, (out, _) in results.items()}
        gradients = {key: grad for key, (_, grad) in results.items()}
        row["cuda_ours_vs_naive_output"] = relative_difference(outputs["cuda", "ours"], outputs["cuda", "naive"])
        row["cuda_ours_vs_naive_gradient"] = relative_difference(gradients["cuda", "ours"],
                                                                  gradients["cuda", "naive"])
        row["cuda_vs_cpu_output"] = relative_difference(outputs["cuda", "ours"], outputs["cpu", "ours"])
        row["cuda_vs_cpu_gradient"] = relative_difference(gradients["cuda", "ours"], gradients["cpu", "ours"])
        rows.append(row)
    print(f"\nequivalence (largest difference / largest magnitude; tolerance {TOLERANCE:g})")
    keys = [k for k in rows[0] if k not in ("dims", "input")]
    print(f"{'dims':>5}" + "".join(f"{k:>30}" for k in keys))
    for row in rows:
        print(f"{row['dims']:>5}" + "".join(f"{row[k]:>30.2e}" for k in keys))
    return rows, all(row[k] <= TOLERANCE for row in rows for k in keys)


def throughput(torch):
    """Voxels per second of the depth-50 MS-D forward on the GPU, ours and naive."""
    from tomorois_surfora.engine.roi.msd import MSDNet
    from tomorois_surfora.engine.roi.train import TrainingParameters

    d, rows = TrainingParameters(), []
    for dims, shape, channels in ((2, (512, 512), 2 * d.context + 1), (3, (48, 128, 128), 1)):
        torch.manual_seed(0)
        net = MSDNet(in_channels=channels, depth=d.depth, dims=dims).cuda().eval()
        x = torch.randn(1, channels, *shape, device="cuda")
        row = {"dims": dims, "input": list(shape)}
        for name, forward in (("ours", net.forward), ("naive", net.forward_naive)):
            with torch.inference_mode():
                forward(x)
                torch.cuda.synchronize()
                start = time.perf_counter()
                for _ in range(5):
                    forward(x)
                torch.cuda.synchronize()
            row[f"{name}_voxels_per_s"] = 5 * x[0, 0].numel() / (time.perf_counter() - start)
        rows.append(row)
    print(f"\nGPU inference throughput, MS-D depth {d.depth}")
    for r in rows:
        print(f"{r['dims']}D {'×'.join(map(str, r['input'])):>12}: ours {r['ours_voxels_per_s']:.3g} vox/s, "
              f"naive {r['naive_voxels_per_s']:.3g} vox/s")
    return rows


def cli_chain(work, epochs):
    """synth → roi train/predict/extract/evaluate on CUDA; the same model's CPU prediction beside it."""
    from tomorois_surfora.engine.io import read_mrc

    cli = [sys.executable, "-m", "tomorois_surfora.engine"]
    data, model = work / "data", work / "model"
    timings = {}

    def run(name, *arguments):
        start = time.perf_counter()
        subprocess.run(cli + [str(a) for a in arguments], check=True)
        timings[name] = time.perf_counter() - start

    run("synth", "synth", "contacts", "--out", data, "--n", 4, "--seed", 3)
    tomograms = [data / f"contacts_00{i}.mrc" for i in range(4)]
    run("train_cuda", "roi", "train", "--tomograms", *tomograms[:3],
        "--masks", *[t.with_name(t.stem + "_rois.mrc") for t in tomograms[:3]],
        "--penalty", *[t.with_name(t.stem + "_decoys.mrc") for t in tomograms[:3]],
        "--out", model, "--epochs", epochs, "--device", "cuda")
    run("predict_cuda", "roi", "predict", tomograms[3], "--model", model / "model.pt", "--out", work / "cuda",
        "--device", "cuda")
    run("predict_cpu", "roi", "predict", tomograms[3], "--model", model / "model.pt", "--out", work / "cpu",
        "--device", "cpu")
    run("extract", "roi", "extract", work / "cuda" / "contacts_003_prob.mrc", "--out", work / "rois")
    labels = sorted((work / "rois").glob("*.mrc"))[0]
    run("evaluate", "roi", "evaluate", "--predicted", labels, "--truth", data / "contacts_003_rois.mrc",
        "--json", work / "metrics.json")
    on_gpu, on_cpu = read_mrc(work / "cuda" / "contacts_003_prob.mrc")[0], read_mrc(work / "cpu" /
                                                                                  "contacts_003_prob.mrc")[0]
    training = json.loads((model / "training.json").read_text())
    result = {"epochs": epochs, "device_recorded": training.get("device"), "seconds": timings,
              "prob_max_abs_difference_cuda_vs_cpu": float(np.abs(on_gpu - on_cpu).max()),
              "voxels_differing_at_0.5": int(np.count_nonzero((on_gpu > 0.5) != (on_cpu > 0.5))),
              "metrics": json.loads((work / "metrics.json").read_text())}
    print(f"\nCLI chain on CUDA ({epochs} epochs): " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    print(f"probability map, CUDA vs CPU prediction of the same model: max |difference| "
          f"{result['prob_max_abs_difference_cuda_vs_cpu']:.2e}, voxels on other sides of 0.5: "
          f"{result['voxels_differing_at_0.5']}")
    return result, result["prob_max_abs_difference_cuda_vs_cpu"] <= PROBABILITY_TOLERANCE


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("cuda_check_work"))
    parser.add_argument("--epochs", type=int, default=5, help="training epochs of the CLI chain")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        sys.exit("check_cuda: PyTorch sees no CUDA GPU here")
    torch.backends.cudnn.allow_tf32 = False  # compare float32 with float32
    torch.backends.cuda.matmul.allow_tf32 = False
    report = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
    print(f"torch {report['torch']} on {report['gpu']}")
    report["equivalence"], equivalent = equivalence(torch)
    report["throughput"] = throughput(torch)
    report["cli"], consistent = cli_chain(args.work, args.epochs)
    report["passed"] = bool(equivalent and consistent)
    write_result("roi_cuda.json", report)
    print("PASSED" if report["passed"] else "FAILED")
    sys.exit(0 if report["passed"] else 1)


if __name__ == "__main__":
    main()
