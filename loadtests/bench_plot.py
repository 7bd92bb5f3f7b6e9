"""The benchmark as a picture: each flow's server time, by request, beside its crypto floor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot_bench(result: dict[str, Any], path: Path) -> Path:
    flows = result["flows"]
    names = list(flows)
    figure, axis = plt.subplots(figsize=(9, 1.2 + 1.1 * len(names)))
    for row, name in enumerate(names):
        flow = flows[name]
        left = 0.0
        for request, micros in flow["per_request_us"].items():
            axis.barh(row + 0.18, micros, left=left, height=0.34, edgecolor="white")
            axis.text(left + micros / 2, row + 0.18, request, ha="center", va="center", fontsize=8)
            left += micros
        axis.barh(row - 0.18, flow["crypto_floor_us"], height=0.34, color="grey")
        axis.text(
            max(left, flow["crypto_floor_us"]) + 20,
            row,
            f"{flow['per_core_per_s']:.0f}/s per core · ratio {flow['ratio']:.1f}",
            va="center",
            fontsize=9,
        )
    axis.set_yticks(range(len(names)), names)
    axis.set_xlabel("µs per flow: server time by request (colour) and pure crypto floor (grey)")
    axis.set_title("Server time against the crypto floor of the same flow, same run")
    axis.invert_yaxis()
    axis.set_xlim(0, max(f["server_us"] for f in flows.values()) * 1.45)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
